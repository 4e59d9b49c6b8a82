"""The report's arrangement for large studies: counts per check first, deviations grouped
by check (collapsed and cut when long), the oldest open queries' records, and the most
pressing timelines."""

from __future__ import annotations

from dataclasses import replace

from tests.support.report import collect, page, row
from worker.core.findings import Kind, Severity
from worker.core.visits import VisitStatus
from worker.report import render_report
from worker.report.collect import DeviationRow, OpenQuery, RecordQueries, Timeline
from worker.report.sections import (
    ROWS_PER_CHECK,
    check_counts,
    check_groups,
    records_listed,
    timelines_drawn,
)


def deviation(record: str, rule: str = "NK-TRT-04", severity=Severity.MAJOR) -> DeviationRow:
    return DeviationRow(
        record=record,
        site="",
        rule=rule,
        title=f"Title of {rule}",
        severity=severity,
        event_label="Treatment",
        form_label="Intrauterine Infusion",
        instance=1,
        field="inf_date",
        query="open",
        days_open=3,
        link=None,
        message=None,
    )


def open_query(rule: str, days: int, kind: Kind = Kind.QUERY) -> OpenQuery:
    return OpenQuery(rule, kind, Severity.MINOR, "Screening", "Consent", None, "cons_date", days)


def test_counts_per_check_cover_deviations_and_open_queries(demo_rows) -> None:
    data = collect(demo_rows)
    counts = {c.rule: c for c in check_counts(data)}
    for rule in {d.rule for d in data.deviations}:
        assert counts[rule].deviations == sum(d.rule == rule for d in data.deviations)
    queries = [q for r in data.queries for q in r.queries]
    for rule in {q.rule for q in queries}:
        assert counts[rule].open_queries == sum(q.rule == rule for q in queries)
    severities = [c.severity.rank for c in check_counts(data) if c.severity]
    assert severities == sorted(severities, reverse=True)  # the most severe first


def test_the_page_opens_with_the_counts_per_check(demo_rows) -> None:
    parsed = page(render_report(collect(demo_rows)))
    sections = [a["id"] for t, a in parsed.tags if t == "section"]
    assert sections[0] == "checks"
    links = {a["href"] for a in parsed.all("a") if a.get("href", "").startswith("#check-")}
    groups = {f"#{a['id']}" for a in parsed.all("details", **{"class": "check"})}
    assert links == groups  # every check with deviations links to its group


def test_deviations_are_grouped_by_check_most_severe_first_and_cut_when_long() -> None:
    rows = [deviation(str(n)) for n in range(ROWS_PER_CHECK + 7)]
    rows.append(deviation("1", "NK-TRT-01", Severity.CRITICAL))
    groups = check_groups(rows)
    assert [g.rule for g in groups] == ["NK-TRT-01", "NK-TRT-04"]
    assert len(groups[1].shown) == ROWS_PER_CHECK
    assert groups[1].more == 7
    assert groups[0].more == 0


def test_long_deviation_lists_are_collapsed_and_say_what_they_leave_out(demo_rows) -> None:
    data = collect(demo_rows)
    short = page(render_report(data))
    assert all("open" in a for a in short.all("details", **{"class": "check"}))
    data.deviations = [deviation(str(n)) for n in range(ROWS_PER_CHECK + 7)]
    html = render_report(data)
    [group] = page(html).all("details", **{"class": "check"})
    assert "open" not in group
    assert "… and 7 more" in html
    assert "check --format csv" in html


def test_past_the_limit_the_records_with_the_oldest_queries_are_listed() -> None:
    records = [RecordQueries(str(n), "", [open_query("DQ-RANGE", n)]) for n in range(1, 11)]
    assert records_listed(records, limit=10) == records
    assert [r.record for r in records_listed(records, limit=3)] == ["10", "9", "8"]


def test_past_the_limit_the_timelines_with_missed_or_stray_visits_are_drawn() -> None:
    fine = [row(1, VisitStatus.IN_WINDOW, 28), row(2, VisitStatus.UPCOMING)]
    late = [row(1, VisitStatus.OUT_OF_WINDOW, 40)]
    missed = [row(1, VisitStatus.MISSED)]

    def timeline(record: str, rows: list) -> Timeline:
        return Timeline(record, "", [replace(r, record=record) for r in rows], 60)

    timelines = [
        timeline("1", fine),
        timeline("2", late),
        timeline("3", fine),
        timeline("4", missed),
        timeline("5", late),
    ]
    assert timelines_drawn(timelines, limit=5) == timelines
    assert [t.record for t in timelines_drawn(timelines, limit=2)] == ["2", "4"]
    assert [t.record for t in timelines_drawn(timelines, limit=3)] == ["2", "4", "5"]


def test_the_page_says_how_many_timelines_it_draws(demo_rows, monkeypatch) -> None:
    import worker.report.sections as sections

    data = collect(demo_rows)
    monkeypatch.setattr(sections.timelines_drawn, "__defaults__", (2,))
    parsed = page(render_report(data))
    assert len(parsed.all("svg", **{"class": "timeline"})) == 2
    visible = " ".join(" ".join(parsed.text).split())
    assert f"2 of {len(data.timelines)} timelines are drawn" in visible
