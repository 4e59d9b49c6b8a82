"""Rendering check results: a table for people, JSON and CSV for programs."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import chain, groupby
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from worker.core.findings import PUBLIC_FIELDS, Finding, Kind, Severity
from worker.text_safety import csv_cell, json_text, visible, visible_text

if TYPE_CHECKING:  # rendered, never built here: `--help` lists the formats without it
    from worker.core.outcome import RunOutcome

PUBLIC_COLUMNS = PUBLIC_FIELDS
WIDTH = 80
# Findings per piece of JSON or CSV output.
CHUNK = 2000
# Distinct findings whose table lines are kept for reuse.
LAID_OUT_KEPT = 5000
NO_STUDY_RULES = "no study rules configured: generic checks only"


def summarise(result: RunOutcome) -> dict[str, Any]:
    findings = result.findings
    by_severity = Counter(map(_SEVERITY, findings))
    by_kind = Counter(map(_KIND, findings))
    return {
        "records_checked": result.records_checked,
        "findings": len(findings),
        "by_severity": {s.value: by_severity[s] for s in Severity},
        "by_kind": dict(sorted((kind.value, n) for kind, n in by_kind.items())),
        "by_rule": dict(sorted(Counter(map(_RULE, findings)).items())),
        "check_errors": result.check_errors,
        "logic_errors": len(result.logic_errors),
        "partial": result.partial,
        "study_checks": result.study_checks,
        "status": result.status,
        "degraded": result.degraded,
        "quarantined": dict(result.quarantined),
    }


_SEVERITY, _KIND, _RULE = attrgetter("severity"), attrgetter("kind"), attrgetter("rule")


def summary_line(result: RunOutcome) -> str:
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
    if result.study_checks == 0:
        line += f"; {NO_STUDY_RULES}"
    if result.degraded:
        line = f"DEGRADED ({len(result.degraded)} problem(s), listed below): " + line
    return line


def coverage_document(result: RunOutcome) -> dict[str, Any]:
    """The coverage ledger as JSON: per study check, participants it ran on, skipped (by
    reason) and errored on."""
    return {rule: cover.public() for rule, cover in sorted(result.coverage.items())}


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def render_json(result: RunOutcome) -> str:
    """``json.dumps(document, indent=2)``, built faster (see ``_json_findings``).

    The document is ``{"as_of": ..., "findings": [<public columns>, ...], "summary": ...,
    "coverage": {<check>: {"ran": n, "errored": n, "skipped": {<reason>: n}}}}``.
    """
    return "".join(json_chunks(result))


def json_chunks(result: RunOutcome, size: int = CHUNK) -> Iterator[str]:
    """``render_json``'s text in pieces of at most ``size`` findings: written out one after
    another, a large run's output never sits in memory whole."""
    findings = result.findings
    yield f'{{\n  "as_of": {json.dumps(result.as_of.isoformat())},\n  "findings": '
    if findings:
        yield "[\n"
        for start in range(0, len(findings), size):
            yield (",\n" if start else "") + _json_findings(findings[start : start + size])
        yield "\n  ]"
    else:
        yield "[]"
    summary = json.dumps(summarise(result), indent=2).replace("\n", "\n  ")
    coverage = json.dumps(coverage_document(result), indent=2).replace("\n", "\n  ")
    yield f',\n  "summary": {summary},\n  "coverage": {coverage}\n}}\n'


def _json_findings(findings: list[Finding]) -> str:
    """The findings (at least one) as ``json.dumps(..., indent=2)`` lays out the items of a
    list one level deep, joined by ``,\\n``.

    With ``indent``, json uses its pure-Python encoder, which took most of a large report's
    rendering time. Here the C encoder encodes every value in one call, one value a line
    (an encoded value never holds a raw newline), and each finding is the same template
    filled with its encoded values.
    """
    values = list(chain.from_iterable(map(_public_row, findings)))
    encoded_all = json.dumps(values, separators=("\n", ":"))
    if "\\ud" in encoded_all:  # a surrogate, paired or lone: rare, so checked only then
        values = [json_text(v) if isinstance(v, str) else v for v in values]
        encoded_all = json.dumps(values, separators=("\n", ":"))
    encoded = encoded_all[1:-1].split("\n")
    return ",\n".join([_JSON_FINDING] * len(findings)) % tuple(encoded)


def render_csv(result: RunOutcome) -> str:
    """One row per finding; text cells pass through ``csv_cell`` (no formula runs in a
    spreadsheet, no control character reaches it)."""
    return "".join(csv_chunks(result))


def csv_chunks(result: RunOutcome, size: int = CHUNK) -> Iterator[str]:
    """``render_csv``'s text in pieces of at most ``size`` rows."""
    findings = result.findings
    for start in range(0, max(len(findings), 1), size):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not start:
            writer.writerow(PUBLIC_COLUMNS)
        # csv writes None as an empty field and a StrEnum as its value.
        writer.writerows(map(_csv_row, findings[start : start + size]))
        yield buffer.getvalue()


def _csv_row(finding: Finding) -> list[Any]:
    return [csv_cell(value) if isinstance(value, str) else value for value in _public_row(finding)]


def render_table(result: RunOutcome) -> str:
    """Findings grouped by record, each in at most 80 columns."""
    return "".join(table_chunks(result))


def table_chunks(result: RunOutcome) -> Iterator[str]:
    """``render_table``'s text a record at a time."""
    yield f"Findings as of {result.as_of.isoformat()}\n\n"
    # Findings repeat a lot across participants (same rule, place and often message):
    # lay out each distinct one once, remembering a bounded number (a project's distinct
    # messages grow with it).
    laid_out: dict[tuple[Any, ...], list[str]] = {}
    for record, group in groupby(result.findings, key=_RECORD):
        items = list(group)
        lines = [f"Record {visible(record)} ({len(items)} finding{'s' if len(items) != 1 else ''})"]
        if len(laid_out) > LAID_OUT_KEPT:
            laid_out.clear()
        for key in map(_TABLE_KEY, items):
            finding_lines = laid_out.get(key)
            if finding_lines is None:
                finding_lines = laid_out[key] = _table_lines(*key)
            lines.extend(finding_lines)
        lines.append("")
        yield "\n".join(lines) + "\n"
    lines = []
    if not result.findings:
        lines += ["No findings.", ""]
    lines.extend(textwrap.wrap(summary_line(result), width=WIDTH, subsequent_indent="  "))
    for problem in result.degraded:
        lines.extend(
            textwrap.wrap(problem, width=WIDTH, initial_indent="  ", subsequent_indent="    ")
        )
    for problem in result.logic_errors:
        lines.append(_fit(f"logic error: {visible(problem)}"))
    yield "\n".join(lines) + "\n"


# Everything of a finding its table lines show, in _table_lines' argument order.
_TABLE_KEY = attrgetter("severity", "kind", "rule", "event", "instance", "field", "message")


def _table_lines(
    severity: Severity,
    kind: Kind,
    rule: str,
    event: str | None,
    instance: int | None,
    field: str | None,
    message: str,
) -> list[str]:
    # Values a project supplies (record, event and field names, messages quoting them) are
    # shown with their control characters escaped: a terminal must not obey them.
    event, field, rule, message = (
        visible(event) if event else event,
        visible(field) if field else field,
        visible(rule),
        visible_text(message),  # its whitespace is textwrap's
    )
    where = event or ""
    if instance is not None:
        where += f" #{instance}"
    if field:
        where += f" · {field}"
    head = f"  {severity.value:<8} {kind.value:<9} {rule:<12} "
    return [_fit(head + where.strip()), *_wrap_message(message)]


_RECORD = attrgetter("record")
_MESSAGE_INDENT = " " * 4
_MESSAGE_WRAPPER = textwrap.TextWrapper(
    width=WIDTH, initial_indent=_MESSAGE_INDENT, subsequent_indent=_MESSAGE_INDENT
)


def _wrap_message(message: str) -> list[str]:
    """``_MESSAGE_WRAPPER.wrap(message)``, with a fast path for plain text.

    Plain text (printable, so no whitespace but single spaces between words, and no
    hyphens textwrap might break after) wraps greedily at the last space that fits, as
    textwrap does; a word too long for a line, or anything else, goes to textwrap.
    """
    if (
        message.isprintable()
        and "-" not in message
        and "  " not in message
        and message.strip() == message
    ):
        width = WIDTH - len(_MESSAGE_INDENT)
        lines: list[str] = []
        rest = message
        while len(rest) > width:
            cut = rest.rfind(" ", 0, width + 1)
            if cut <= 0:
                break
            lines.append(_MESSAGE_INDENT + rest[:cut])
            rest = rest[cut + 1 :]
        else:
            if rest:
                lines.append(_MESSAGE_INDENT + rest)
            return lines
    return _MESSAGE_WRAPPER.wrap(message)


def _fit(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


# A finding's public values in PUBLIC_COLUMNS order, as ``Finding.public()`` has them but
# without pydantic's serialiser: Kind and Severity stay StrEnums, which json and csv
# write as their values. tests/test_output.py holds the two equal.
_public_row = attrgetter(*PUBLIC_COLUMNS)
# One finding in the JSON document, a %s for each public value, already encoded.
_JSON_FINDING = (
    "    {\n"
    + ",\n".join(f"      {json.dumps(column)}: %s" for column in PUBLIC_COLUMNS)
    + "\n    }"
)


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}
# The same, in pieces to write out one after another.
CHUNKED: dict[str, Callable[[RunOutcome], Iterator[str]]] = {
    "table": table_chunks,
    "json": json_chunks,
    "csv": csv_chunks,
}
