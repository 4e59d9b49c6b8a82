"""Any REDCap project, from its project XML alone: the sandbox serves a REDCap project XML
(two arms, a repeating adverse-event form, missing data codes, records with seeded errors)
and `check`, with nothing but REDCAP_API_URL and REDCAP_API_TOKEN set and no config file,
reports exactly the generic findings seeded into its data: none for a value that holds one
of the project's missing data codes, and those of a record whose only data is an adverse
event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redcap

from tests.support.projects import AS_OF, TWO_ARM_FINDINGS, TWO_ARM_XML
from tests.support.worker_process import run_worker, worker_env
from worker.sandbox import DEMO_TOKEN, Sandbox

pytestmark = pytest.mark.e2e

Place = tuple[str, str, str, int | None, str]  # rule, record, event, instance, field


@pytest.fixture(scope="module")
def xml_sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_project(TWO_ARM_XML, data=None, token=DEMO_TOKEN) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def findings(xml_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    empty = tmp_path_factory.mktemp("no-config")  # no config.toml anywhere near
    run = run_worker(
        "check",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        env=worker_env(xml_sandbox.url, xml_sandbox.token),
        cwd=empty,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    document = json.loads(run.stdout)
    assert document["summary"]["study_checks"] == 0
    return list(document["findings"])


def place(finding: dict[str, Any]) -> Place:
    return (
        finding["rule"],
        finding["record"],
        finding["event"],
        finding["instance"],
        finding["field"],
    )


def seeded() -> set[Place]:
    return {place(f) for f in json.loads(TWO_ARM_FINDINGS.read_text(encoding="utf-8"))}


def test_check_with_no_config_reports_exactly_the_seeded_generic_findings(
    findings: list[dict],
) -> None:
    assert {place(f) for f in findings} == seeded()
    assert len(findings) == len(seeded())


def missing_code_values(project: redcap.Project) -> set[tuple[str, str, int | None, str]]:
    """(record, event, instance, field) of every stored value equal to a missing data code."""
    codes = {
        part.split(",")[0].strip()
        for part in project.export_project_info()["missing_data_codes"].split("|")
    }
    found = set()
    for row in project.export_records(format_type="json"):
        instance = row["redcap_repeat_instance"] or None
        for column, value in row.items():
            if value in codes and not column.startswith("redcap_"):
                found.add((row["record_id"], row["redcap_event_name"], instance, column))
    return found


def test_no_finding_for_a_value_holding_a_missing_data_code(
    xml_sandbox: Sandbox, findings: list[dict]
) -> None:
    holding_codes = missing_code_values(redcap.Project(xml_sandbox.url, xml_sandbox.token))
    assert len(holding_codes) >= 3  # the fixture seeds several, in different fields
    flagged = {(f["record"], f["event"], f["instance"], f["field"]) for f in findings}
    assert not flagged & holding_codes


def test_both_arms_and_the_repeating_form_are_checked(findings: list[dict]) -> None:
    events = {f["event"] for f in findings}
    assert any(e.endswith("_arm_1") for e in events)
    assert any(e.endswith("_arm_2") for e in events)
    assert any(f["instance"] is not None for f in findings)


def test_a_record_with_only_an_adverse_event_is_checked(
    xml_sandbox: Sandbox, findings: list[dict]
) -> None:
    project = redcap.Project(xml_sandbox.url, xml_sandbox.token)
    rows = project.export_records(format_type="json")
    only_repeating = {
        record
        for record in {r["record_id"] for r in rows}
        if all(r["redcap_repeat_instrument"] for r in rows if r["record_id"] == record)
    }
    assert only_repeating, "the fixture holds a record whose only data is an adverse event"
    assert only_repeating <= {f["record"] for f in findings}
