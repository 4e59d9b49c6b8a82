"""What the checks run with: a study's mapping and rules, or the generic checks alone; and
the query instrument only `sync` needs, with one line saying what to add when it is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import REPO, demo_schema
from worker.config import StudySettings
from worker.errors import ConfigError
from worker.pipeline import load_study, query_instrument

NK_MAPPING = (REPO / "mappings" / "nk_trial.toml").read_text(encoding="utf-8")


def settings(mapping: Path | None = None, rules: Path | None = None) -> StudySettings:
    return StudySettings(mapping=mapping, rules=rules)


def test_with_no_mapping_the_generic_checks_read_every_form() -> None:
    study = load_study(settings(), demo_schema())
    assert study.mapping is None
    assert study.ruleset is None
    assert study.study_checks == 0
    assert study.forms_to_export == demo_schema().forms
    assert study.queries is None


def test_a_study_excludes_its_query_form_from_the_checks() -> None:
    study = load_study(
        settings(REPO / "mappings" / "nk_trial.toml", REPO / "rules" / "nk_trial"), demo_schema()
    )
    assert study.study_checks > 0
    assert "data_query" not in study.forms_to_export
    assert query_instrument(study).form == "data_query"


def test_sync_without_a_mapping_is_told_to_run_init() -> None:
    study = load_study(settings(), demo_schema())
    with pytest.raises(ConfigError, match="no study mapping is configured: `python -m worker init"):
        query_instrument(study)


def test_sync_with_a_mapping_without_queries_is_told_what_to_add(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(NK_MAPPING.split("# Where findings are written back")[0], encoding="utf-8")
    study = load_study(settings(mapping), demo_schema())
    with pytest.raises(ConfigError) as raised:
        query_instrument(study)
    assert str(raised.value).startswith(
        f"sync needs a query instrument: the mapping {mapping} has no [queries] section; "
    )


def test_a_query_form_the_project_lacks_is_no_drift_until_sync(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(NK_MAPPING.replace('form = "data_query"', 'form = "dq_log"'))
    (tmp_path / "query_instrument.zip").write_bytes(b"")  # as init leaves it
    study = load_study(settings(mapping, REPO / "rules" / "nk_trial"), demo_schema())
    assert study.queries is None
    assert study.study_checks > 0
    with pytest.raises(ConfigError) as raised:
        query_instrument(study)
    message = str(raised.value)
    assert message.startswith("sync needs the query instrument 'dq_log', which the project ")
    # Not init's instrument: the mapping's own form is named, not the ZIP.
    assert "add a form 'dq_log' with the fields the mapping's [queries.fields] names" in message
    assert "\n" not in message


def test_rules_need_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"study\.rules needs study\.mapping"):
        load_study(settings(rules=REPO / "rules" / "nk_trial"), demo_schema())
