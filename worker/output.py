"""Rendering check results: a table for people, JSON and CSV for programs."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections import Counter
from itertools import groupby
from typing import Any

from worker.core.findings import CheckResult, Finding, Severity

PUBLIC_COLUMNS = (
    "rule",
    "kind",
    "severity",
    "record",
    "event",
    "instrument",
    "instance",
    "field",
    "message",
)
WIDTH = 80


def summarise(result: CheckResult) -> dict[str, Any]:
    findings = result.findings
    return {
        "records_checked": result.records_checked,
        "findings": len(findings),
        "by_severity": {s.value: sum(f.severity == s for f in findings) for s in Severity},
        "by_kind": dict(sorted(Counter(f.kind.value for f in findings).items())),
        "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "check_errors": result.check_errors,
        "logic_errors": len(result.logic_errors),
        "partial": result.partial,
    }


def summary_line(result: CheckResult) -> str:
    s = summarise(result)
    sev = ", ".join(f"{n} {name}" for name, n in s["by_severity"].items())
    kinds = ", ".join(f"{n} {_plural(name, n)}" for name, n in s["by_kind"].items())
    line = (
        f"{s['findings']} finding{'s' if s['findings'] != 1 else ''} in "
        f"{s['records_checked']} records checked ({sev}"
        + (f"; {kinds}" if kinds else "")
        + f"); {s['check_errors']} check errors"
    )
    if result.partial:
        line += "; partial run: cross-participant checks skipped"
    return line


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def render_json(result: CheckResult) -> str:
    document = {
        "as_of": result.as_of.isoformat(),
        "findings": [_public(f) for f in result.findings],
        "summary": summarise(result),
    }
    return json.dumps(document, indent=2) + "\n"


def render_csv(result: CheckResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PUBLIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for finding in result.findings:
        row = _public(finding)
        writer.writerow({k: "" if row[k] is None else row[k] for k in PUBLIC_COLUMNS})
    return buffer.getvalue()


def render_table(result: CheckResult) -> str:
    """Findings grouped by record, each in at most 80 columns."""
    lines: list[str] = [f"Findings as of {result.as_of.isoformat()}", ""]
    for record, group in groupby(result.findings, key=lambda f: f.record):
        items = list(group)
        lines.append(f"Record {record} ({len(items)} finding{'s' if len(items) != 1 else ''})")
        for f in items:
            where = f.event or ""
            if f.instance is not None:
                where += f" #{f.instance}"
            if f.field:
                where += f" · {f.field}"
            head = f"  {f.severity.value:<8} {f.kind.value:<9} {f.rule:<12} "
            lines.append(_fit(head + where.strip()))
            lines.extend(
                textwrap.wrap(
                    f.message, width=WIDTH, initial_indent=" " * 4, subsequent_indent=" " * 4
                )
            )
        lines.append("")
    if not result.findings:
        lines.append("No findings.")
        lines.append("")
    lines.extend(textwrap.wrap(summary_line(result), width=WIDTH, subsequent_indent="  "))
    for problem in result.logic_errors:
        lines.append(_fit(f"logic error: {problem}"))
    return "\n".join(lines) + "\n"


def _fit(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _public(finding: Finding) -> dict[str, Any]:
    return {k: v for k, v in finding.public().items() if k in PUBLIC_COLUMNS}


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}
