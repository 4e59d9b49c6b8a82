"""How a rules folder declares its Python checks (worker/core/rules/declare.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.rules.builders import (
    CHECKS,
    load,
    rules_folder,
)
from worker.errors import MappingError


def test_a_bad_kind_in_a_declaration_is_refused_at_load(tmp_path: Path) -> None:
    checks = CHECKS.replace(
        'kind="query", severity="minor", title="Weight',
        'kind="note", severity="minor", title="Weight',
    )
    with pytest.raises(MappingError, match="'note' is not a valid Kind"):
        load(rules_folder(tmp_path, checks=checks))
