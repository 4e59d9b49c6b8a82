"""How a rules folder declares its Python checks (worker/core/rules/declare.py)."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from worker.core.mapping import MappingSpec, ParticipantBuilder
from worker.core.records import RecordData, group_rows
from worker.core.rules import Params, Ruleset, load_ruleset
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, MappingError
from tests.core.rules.builders import (
    AS_OF,
    field,
    SCHEMA,
    MAPPING,
    BUILDER,
    PARAMS,
    CHECKS,
    LOGIC,
    rules_folder,
    load,
    record,
    baseline,
    dose,
    month,
    log,
    check_all_records,
    places,
    CLEAN,
)


def test_a_bad_kind_in_a_declaration_is_refused_at_load(tmp_path: Path) -> None:
    checks = CHECKS.replace(
        'kind="query", severity="minor", title="Weight',
        'kind="note", severity="minor", title="Weight',
    )
    with pytest.raises(MappingError, match="'note' is not a valid Kind"):
        load(rules_folder(tmp_path, checks=checks))

