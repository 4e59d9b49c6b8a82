"""A long-running worker loads its study for every sync: loading it again and again costs
no memory (the rules' modules are not left in ``sys.modules``) and runs the checks' code
once, until a file of the study changes."""

from __future__ import annotations

import sys

import pytest

from tests.support.nk_trial import MAPPING, RULES, schema
from worker.config import StudySettings
from worker.pipeline import load_study

SETTINGS = StudySettings.model_validate({"mapping": MAPPING, "rules": RULES})


@pytest.mark.slow
def test_loading_the_study_50_times_leaves_sys_modules_as_it_was() -> None:
    # The first load may import what the checks import (the standard library, the worker's
    # own rules framework), once per process like any import.
    first = load_study(SETTINGS, schema())
    before = set(sys.modules)
    studies = [load_study(SETTINGS, schema()) for _ in range(50)]
    assert set(sys.modules) == before
    assert not [name for name in sys.modules if name.startswith("_worker_rules_")]
    assert first.ruleset is not None
    ids = [c.id for c in first.ruleset.checks]
    assert "NK-ENR-01" in ids
    for study in studies:
        assert study.ruleset is not None
        assert [c.id for c in study.ruleset.checks] == ids
