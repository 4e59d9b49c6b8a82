"""A summary as plain text and as HTML (Jinja2).

Two environments, set explicitly rather than by template name (``select_autoescape`` does
not escape names it does not recognise): the HTML one escapes every value, the text one
escapes nothing (plain text has no markup to break). ``StrictUndefined`` makes a missing
value an error instead of a silent blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from worker.core.rules.wording import GENERIC
from worker.core.wording import day_count
from worker.notify.snapshot import DUE_SOON, Item, Visit
from worker.notify.summary import Summary
from worker.notify.templates import HTML, TEXT
from worker.text_safety import visible, visible_text

FOOTER = (
    "Sent by the REDCap worker after a sync. It names records, events, forms, fields and "
    "checks only: open REDCap for the details."
)


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


def _shown(value: object) -> object:
    """What a message prints of a value: text with its control characters made visible, the
    line breaks of the several-line texts built below kept. Markup (a block the template
    rendered itself) is made of values shown already."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_text(value)
    return value


@cache
def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=DictLoader({"summary.txt": TEXT, "summary.html": HTML}),
        autoescape=autoescape,
        finalize=_shown,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def report_pointer(report_url: str | None) -> str:
    """Where a long summary's full lists are."""
    if report_url:
        return f"The study report has the lists by check: {report_url}"
    return "The study report (python -m worker report) has the lists by check."


def render(summary: Summary, *, report_url: str | None = None) -> Rendered:
    context = {
        "summary": summary,
        "for_site": f" at site {summary.site}" if summary.site else "",
        "anchor": summary.anchor or GENERIC.schedule_anchor,
        "horizon": day_count(DUE_SOON.days),
        "footer": FOOTER,
        "pointer": report_pointer(report_url),
        "report_url": report_url,
        "plural": lambda n: "" if n == 1 else "s",
        "age": age,
        "days_text": days_text,
        "place": place,
        "item_text": item_text,
        "visit_text": visit_text,
    }
    text = _environment(False).get_template("summary.txt").render(context)
    html = _environment(True).get_template("summary.html").render(context)
    return Rendered(text=_tidy(text), html=html)


def _tidy(text: str) -> str:
    """At most one blank line in a row: conditional sections leave gaps behind."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


def days_text(days: int | None) -> str:
    return "-" if days is None else day_count(days)


def age(item: Item) -> str:
    return "opened today" if item.days_open == 0 else f"open {days_text(item.days_open)}"


def place(item: Item) -> str:
    """Where the deviation is: record, event, form (instance), field."""
    form = item.form_label + (f" #{item.instance}" if item.instance is not None else "")
    parts = [f"record {item.record}"]
    if item.site:
        parts.append(f"site {item.site}")
    parts += [p for p in (item.event_label, form, item.field) if p]
    # Escaped part by part: a line break inside a record ID must not start a line of its own.
    return " · ".join(map(visible, parts))


def item_text(item: Item) -> str:
    lines = [
        f"  - {place(item)}",
        f"    {item.rule} ({item.severity.value}): {item.title}"
        + (" (reopened)" if item.reopened else ""),
        f"    {age(item)}",
    ]
    if item.message:
        lines.append(f"    {visible(item.message)}")
    if item.link:
        lines.append(f"    {item.link}")
    return "\n".join(lines)


def visit_text(visit: Visit) -> str:
    site = f", site {visit.site}" if visit.site else ""
    event = f" ({visit.event_label})" if visit.event_label else ""
    first, last = visit.window
    return visible(
        f"record {visit.record}{site}, {visit.visit}{event}: {visit.note} (days {first}–{last})"
    )
