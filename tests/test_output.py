"""Rendering: a table people can read in 80 columns, JSON and CSV programs can rely on."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from worker.core.findings import CheckResult, Finding, Kind, Severity, sort_findings
from worker.output import render_csv, render_json, render_table, summary_line


def finding(record: str, rule: str, *, instance: int | None = None, **kw: object) -> Finding:
    defaults: dict[str, object] = {
        "kind": Kind.QUERY,
        "severity": Severity.MINOR,
        "event": "screening_arm_1",
        "instrument": "enrollment",
        "field": "enr_age",
        "message": "Age at screening is outside 18–50, the range the data dictionary allows.",
    }
    defaults.update(kw)
    return Finding(rule=rule, record=record, instance=instance, **defaults)  # type: ignore[arg-type]


def result(*findings: Finding) -> CheckResult:
    return CheckResult(
        as_of=date(2026, 11, 26), findings=sort_findings(list(findings)), records_checked=3
    )


def test_json_is_one_object_with_as_of_findings_and_summary() -> None:
    secret = finding("2", "DQ-RANGE", evidence={"screening_arm_1[].enr_age": "71"})
    document = json.loads(render_json(result(secret)))
    assert document["as_of"] == "2026-11-26"
    assert document["findings"] == [
        {
            "rule": "DQ-RANGE",
            "kind": "query",
            "severity": "minor",
            "record": "2",
            "event": "screening_arm_1",
            "instrument": "enrollment",
            "instance": None,
            "field": "enr_age",
            "message": secret.message,
        }
    ]
    assert document["summary"]["findings"] == 1
    assert document["summary"]["by_severity"] == {"critical": 0, "major": 0, "minor": 1}
    assert "71" not in json.dumps(document)  # evidence values never leave the process


def test_findings_sort_by_record_numerically_then_event_instance_field_rule() -> None:
    findings = [
        finding("10", "DQ-TYPE"),
        finding("2", "NK-TRT-04", event="treatment_arm_1", instance=2, field="inf_date"),
        finding("2", "NK-TRT-02", event="treatment_arm_1", instance=1, field="cp_released"),
        finding("2", "DQ-TYPE", event="screening_arm_1", field="enr_age"),
        finding("2", "DQ-RANGE", event="screening_arm_1", field="enr_age"),
    ]
    ordered = [(f.record, f.rule) for f in result(*findings).findings]
    assert ordered == [
        ("2", "DQ-RANGE"),
        ("2", "DQ-TYPE"),
        ("2", "NK-TRT-02"),
        ("2", "NK-TRT-04"),
        ("10", "DQ-TYPE"),
    ]


def test_csv_has_a_header_and_one_row_per_finding() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(result(finding("1", "DQ-TYPE"))))))
    assert len(rows) == 1
    assert rows[0]["rule"] == "DQ-TYPE"
    assert rows[0]["instance"] == ""


def test_the_table_groups_by_record_within_80_columns() -> None:
    text = render_table(
        result(
            finding("1", "DQ-TYPE"),
            finding("1", "NK-ELG-01", severity=Severity.CRITICAL, kind=Kind.DEVIATION),
            finding("3", "DQ-RANGE", message="x " * 100),
        )
    )
    assert "Record 1 (2 findings)" in text
    assert "Record 3 (1 finding)" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.rstrip().endswith("0 check errors")  # the summary closes it


def test_the_summary_line_counts_by_severity_and_kind() -> None:
    line = summary_line(
        result(
            finding("1", "DQ-TYPE", severity=Severity.MAJOR),
            finding("1", "NK-ELG-01", severity=Severity.CRITICAL, kind=Kind.DEVIATION),
        )
    )
    assert line.startswith("2 findings in 3 records checked (1 critical, 1 major, 0 minor")
    assert "1 deviation, 1 query" in line


def test_kinds_are_pluralised_properly() -> None:
    two = result(finding("1", "DQ-TYPE"), finding("2", "DQ-TYPE"))
    assert "2 queries" in summary_line(two)


def test_an_empty_result_says_so() -> None:
    assert "No findings." in render_table(result())
