"""The study report as one self-contained HTML page (Jinja2, autoescaped)."""

from __future__ import annotations

from collections import Counter
from functools import cache

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from worker.core.findings import Severity
from worker.core.wording import day_count
from worker.report.collect import RecordQueries, ReportData
from worker.report.sections import (
    OPEN_GROUPS_BELOW,
    check_counts,
    check_groups,
    records_listed,
    timelines_drawn,
)
from worker.report.templates import CSS, REPORT
from worker.report.timeline import Scale, legend, render_timeline
from worker.text_safety import visible

# Age groups of open queries, in days: (upper bound inclusive, label); the last is open-ended.
AGE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (7, "0–7 d"),
    (30, "8–30 d"),
    (60, "31–60 d"),
    (None, "> 60 d"),
)


def _shown(value: object) -> object:
    """What the page prints of a value: text with its control characters made visible (the
    SVG timelines, already markup, make their own text visible)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@cache
def _environment() -> Environment:
    # Autoescape on for the whole page (the template's name decides nothing).
    return Environment(
        loader=DictLoader({"report.html": REPORT}),
        autoescape=True,
        finalize=_shown,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def days_text(n: int | None) -> str:
    if n is None:
        return "-"
    return "today" if n == 0 else day_count(n)


def age_counts(entry: RecordQueries) -> list[int]:
    counts = [0] * len(AGE_BUCKETS)
    for query in entry.queries:
        days = query.days_open or 0
        for i, (bound, _) in enumerate(AGE_BUCKETS):
            if bound is None or days <= bound:
                counts[i] += 1
                break
    return counts


def render_report(data: ReportData, *, has_queries: bool = True, values: bool = False) -> str:
    anchor = data.wording.schedule_anchor
    drawn = timelines_drawn(data.timelines)
    reasons = [row.reason for t in drawn for row in t.rows if row.reason]
    scale = Scale.for_timelines(drawn)
    most = max((count for _, count in data.progress), default=0)
    severities = Counter(d.severity for d in data.deviations)
    return (
        _environment()
        .get_template("report.html")
        .render(
            d=data,
            css=CSS,
            anchor=anchor,
            legend=legend(reasons),
            scheduled=data.wording.scheduled_participant,
            timelines=[(t, render_timeline(t, scale, anchor)) for t in drawn],
            checks=check_counts(data),
            groups=check_groups(data.deviations),
            listed=records_listed(data.queries),
            open_groups=len(data.deviations) < OPEN_GROUPS_BELOW,
            buckets=[label for _, label in AGE_BUCKETS],
            ages=age_counts,
            open_total=sum(len(r.queries) for r in data.queries),
            # A site column only for projects with data access groups.
            sites=any(d.site for d in data.deviations) or any(r.site for r in data.queries),
            severity_counts=[(s.value, severities[s]) for s in Severity if severities[s]],
            has_queries=has_queries,
            values=values,
            plural=lambda n: "" if n == 1 else "s",
            days=days_text,
            bar=lambda n: 0 if most == 0 else round(100 * n / most, 1),
        )
    )
