"""Rendering: a table people can read in 80 columns, JSON and CSV programs can rely on."""

from __future__ import annotations

import csv
import io
import json
import random
import textwrap
from datetime import date
from itertools import groupby

from worker.core.findings import (
    CheckCoverage,
    Finding,
    Kind,
    Severity,
    sort_findings,
)
from worker.core.outcome import RunOutcome
from worker.output import (
    PUBLIC_COLUMNS,
    _public_row,
    _wrap_message,
    csv_chunks,
    json_chunks,
    render_csv,
    render_json,
    render_table,
    summarise,
    summary_line,
    table_chunks,
)
from worker.text_safety import csv_cell, visible, visible_text


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


def result(*findings: Finding) -> RunOutcome:
    return RunOutcome(
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


# The renderers take fast paths (memoised table lines, a greedy wrap for plain text, the C
# JSON encoder, csv.writer on attribute tuples). These tests hold them byte for byte to the
# plain implementations they replace, on findings chosen to take every path.

AWKWARD_MESSAGES = (
    "",
    "Short.",
    "x" * 76,
    "x" * 77,
    "word " * 15 + "end",  # a space at column 77
    " ".join(["word"] * 40),
    "y" * 90 + " then more",  # a word too long for any line
    "x" * 75 + "  two spaces at column 76",
    "x" * 68 + " follow-up -- hyphens textwrap may break after, as in 12-week.",
    "Tabs\tand\nnewlines\r\x0bbecome  spaces " * 3,
    "  leading and trailing spaces  ",
    'Non-breaking\xa0space, thin\u2009space, 50 % {braces}, "quotes", back\\slash, 😀 ' * 2,
    "Age at screening is outside 18–50, the range the data dictionary allows.",
)


def awkward_findings() -> list[Finding]:
    findings = []
    for i, message in enumerate(AWKWARD_MESSAGES):
        findings.append(finding(str(i % 4), "DQ-RANGE", message=message, instance=i % 3 or None))
        findings.append(finding(str(i % 5), "DQ-TYPE", message=message, instance=0))
        findings.append(
            finding(
                f"P-{i % 3}",
                "NK-A-VERY-LONG-RULE-NAME",
                severity=Severity.CRITICAL,
                kind=Kind.DEVIATION,
                event=None if i % 2 else "x" * (i * 7),
                instrument=None,
                field=None if i % 3 else 'a field, with "quotes"',
                message=message,
            )
        )
    return findings


def plain_public(f: Finding) -> dict[str, object]:
    return {k: v for k, v in f.public().items() if k in PUBLIC_COLUMNS}


def plain_json(r: RunOutcome) -> str:
    document = {
        "as_of": r.as_of.isoformat(),
        "findings": [plain_public(f) for f in r.findings],
        "summary": summarise(r),
        "coverage": {rule: c.public() for rule, c in sorted(r.coverage.items())},
    }
    return json.dumps(document, indent=2) + "\n"


def plain_csv(r: RunOutcome) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PUBLIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for f in r.findings:
        row = plain_public(f)
        writer.writerow(
            {
                k: "" if row[k] is None else csv_cell(v) if isinstance(v := row[k], str) else v
                for k in PUBLIC_COLUMNS
            }
        )
    return buffer.getvalue()


def plain_table(r: RunOutcome) -> str:
    def fit(text: str) -> str:
        return text if len(text) <= 80 else text[:79] + "…"

    lines = [f"Findings as of {r.as_of.isoformat()}", ""]
    for record, group in groupby(r.findings, key=lambda f: f.record):
        items = list(group)
        lines.append(
            f"Record {visible(record)} ({len(items)} finding{'s' if len(items) != 1 else ''})"
        )
        for f in items:
            where = visible(f.event or "")
            if f.instance is not None:
                where += f" #{f.instance}"
            if f.field:
                where += f" · {visible(f.field)}"
            head = f"  {f.severity.value:<8} {f.kind.value:<9} {visible(f.rule):<12} "
            lines.append(fit(head + where.strip()))
            lines.extend(
                textwrap.wrap(
                    visible_text(f.message),
                    width=80,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
            )
        lines.append("")
    if not r.findings:
        lines.extend(["No findings.", ""])
    lines.extend(textwrap.wrap(summary_line(r), width=80, subsequent_indent="  "))
    for problem in r.degraded:
        lines.extend(
            textwrap.wrap(problem, width=80, initial_indent="  ", subsequent_indent="    ")
        )
    lines.extend(fit(f"logic error: {visible(problem)}") for problem in r.logic_errors)
    return "\n".join(lines) + "\n"


def test_each_format_matches_its_plain_implementation() -> None:
    awkward = RunOutcome(
        as_of=date(2026, 11, 26),
        findings=sort_findings(awkward_findings()),
        records_checked=7,
        check_errors=1,
        logic_errors=["x" * 100],
        partial=True,
    )
    degraded = RunOutcome(
        as_of=date(2026, 11, 26),
        records_checked=3,
        quarantined={"XX-01": "rule XX-01: field 'gone' is not in the project"},
        coverage={
            "XX-01": CheckCoverage(skipped={"quarantined": 3}),
            "XX-02": CheckCoverage(ran=1, errored=2),
        },
    )
    for r in (awkward, degraded, result(), result(finding("1", "DQ-TYPE"))):
        assert render_json(r) == plain_json(r)
        assert render_csv(r) == plain_csv(r)
        assert render_table(r) == plain_table(r)


def test_each_format_written_in_pieces_is_the_same_text() -> None:
    many = result(*(finding(str(n % 4), f"DQ-{n}") for n in range(7)))
    for r in (many, result()):
        for size in (1, 2, 7, 100):
            assert "".join(json_chunks(r, size)) == plain_json(r)
            assert "".join(csv_chunks(r, size)) == plain_csv(r)
        pieces = list(table_chunks(r))
        assert "".join(pieces) == plain_table(r)
    # The table comes a record at a time: the title, each record, the summary.
    assert len(list(table_chunks(many))) == 1 + 4 + 1
    assert len(list(json_chunks(many, 2))) == 1 + 1 + 4 + 1 + 1


def test_the_public_row_is_what_public_gives_in_column_order() -> None:
    for f in awkward_findings():
        assert dict(zip(PUBLIC_COLUMNS, _public_row(f), strict=True)) == plain_public(f)
        assert list(plain_public(f)) == list(PUBLIC_COLUMNS)


def test_messages_wrap_as_textwrap_wraps_them() -> None:
    rng = random.Random(20261126)
    pieces = ["w", "word", "é", " ", " ", "  ", "-", "--", "\t", "\n", "\xa0", "·", "x" * 40]
    texts = list(AWKWARD_MESSAGES)
    texts += ["".join(rng.choices(pieces, k=rng.randint(0, 60))) for _ in range(2000)]
    texts += [
        " ".join("w" * rng.randint(1, 12) for _ in range(rng.randint(1, 30))) for _ in range(2000)
    ]
    for text in texts:
        expected = textwrap.wrap(text, width=80, initial_indent="    ", subsequent_indent="    ")
        assert _wrap_message(text) == expected, text


def test_a_run_with_a_quarantined_or_mostly_erring_check_is_degraded_not_ok() -> None:
    clean = RunOutcome(
        as_of=date(2026, 11, 26),
        coverage={"XX-02": CheckCoverage(ran=95, errored=5)},  # 5%: at the limit, not over
    )
    assert (clean.status, clean.degraded) == ("ok", [])
    erring = RunOutcome(
        as_of=date(2026, 11, 26),
        coverage={"XX-02": CheckCoverage(ran=94, errored=6)},
    )
    assert erring.status == "degraded"
    assert erring.degraded == ["check XX-02 errored on 6 of 100 participants (6%, limit 5%)"]
    held = RunOutcome(as_of=date(2026, 11, 26), quarantined={"XX-01": "field 'gone' is gone"})
    assert summarise(held)["status"] == "degraded"
    assert summarise(held)["quarantined"] == {"XX-01": "field 'gone' is gone"}
    assert summary_line(held).startswith("DEGRADED (1 problem(s), listed below): ")
    assert "check XX-01 quarantined: field 'gone' is gone" in render_table(held)
    assert json.loads(render_json(erring))["coverage"] == {
        "XX-02": {"ran": 94, "errored": 6, "skipped": {}}
    }


# -- text a project supplies, shown and not obeyed --------------------------------------------

HOSTILE_ID = "7\x1b[2J\u202eevil"  # clears a terminal; reverses what follows


def hostile_result() -> RunOutcome:
    return result(
        finding('=HYPERLINK("http://x")', "DQ-TYPE", message="+cmd|' /C calc'!A0"),
        finding("@SUM(A1)", "DQ-TYPE", field="-2+3", message="-12"),
        finding(HOSTILE_ID, "DQ-TYPE", event="ev\x00\u2066", message="a\x07b\u202ec"),
    )


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_cells_a_spreadsheet_would_run_as_formulas_start_with_a_quote() -> None:
    rows = csv_rows(render_csv(hostile_result()))
    records = [r["record"] for r in rows]
    assert '\'=HYPERLINK("http://x")' in records
    assert "'@SUM(A1)" in records
    assert "'+cmd|' /C calc'!A0" in [r["message"] for r in rows]
    assert "'-2+3" in [r["field"] for r in rows]
    # A plain negative number is a number, not a formula: it stays readable as one.
    assert "-12" in [r["message"] for r in rows]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value


def test_control_and_bidi_characters_are_escaped_in_the_table_and_csv() -> None:
    r = hostile_result()
    table, csv_text = render_table(r), render_csv(r)
    for text in (table, csv_text):
        for raw in ("\x1b", "\x00", "\x07", "\u202e", "\u2066"):
            assert raw not in text
    assert "Record 7\\x1b[2J\\u202eevil (1 finding)" in table
    assert "ev\\x00\\u2066" in table
    assert "a\\x07b\\u202ec" in table
    [row] = [row for row in csv_rows(csv_text) if row["record"].startswith("7")]
    assert row["record"] == "7\\x1b[2J\\u202eevil"
    assert row["message"] == "a\\x07b\\u202ec"


def test_json_output_is_valid_and_keeps_control_characters_as_json_escapes() -> None:
    text = render_json(hostile_result())
    assert text.isascii()
    assert "\x1b" not in text
    records = [f["record"] for f in json.loads(text)["findings"]]
    assert HOSTILE_ID in records  # JSON escapes controls itself, losslessly


def test_a_lone_surrogate_never_breaks_an_output() -> None:
    r = result(finding("9\ud800", "DQ-TYPE", message="bad \udfff value"))
    for text in (render_table(r), render_csv(r), render_json(r)):
        text.encode("utf-8")  # would raise on a lone surrogate
        assert "\\ud800" in text
    document = json.loads(render_json(r))
    assert document["findings"][0]["record"] == "9\\ud800"
    # A real (paired) character outside the BMP stays itself.
    emoji = result(finding("10", "DQ-TYPE", message="ok \U0001f600"))
    assert json.loads(render_json(emoji))["findings"][0]["message"] == "ok \U0001f600"


def test_the_table_is_the_same_when_few_laid_out_findings_are_kept(monkeypatch) -> None:
    import worker.output

    monkeypatch.setattr(worker.output, "LAID_OUT_KEPT", 1)
    many = result(*(finding(str(n % 5), f"DQ-{n % 3}") for n in range(15)))
    assert render_table(many) == plain_table(many)
