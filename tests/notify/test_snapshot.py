"""What a sync run knows, in summary terms: open items, visits by urgency, no values."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from tests.support.notify import AS_OF, NOW, options_for, stored_query, sync_result
from worker.core.findings import Kind, Severity
from worker.core.queries import Status
from worker.core.visits import VisitRow, VisitStatus
from worker.notify.snapshot import DUE_SOON, VisitState, build_snapshot


def test_open_queries_become_items_with_links_and_ages(tmp_path) -> None:
    old = stored_query(2, opened_at=NOW - timedelta(days=3), reopen_count=1)
    result = sync_result(
        {
            "8": [stored_query(1), old, stored_query(3, status=Status.RESOLVED)],
            "9": [stored_query(1, status=Status.VERIFIED)],
        },
        groups={"8": "site_a"},
    )
    snap = build_snapshot(result, options_for(tmp_path), as_of=AS_OF, now=NOW)
    assert [i.query_id for i in snap.items] == ["NK-TRT-01-1", "NK-TRT-01-2"]
    first, second = snap.items
    assert first.title == "More infusions than the protocol allows"
    assert (first.site, first.event_label, first.form_label) == (
        "site_a",
        "Treatment",
        "Intrauterine Infusion",
    )
    assert first.link == (
        "https://redcap.example.org/redcap_v15.7.6/DataEntry/index.php"
        "?pid=4107&id=8&event_id=101&page=infusion&instance=3"
    )
    assert (first.days_open, second.days_open) == (0, 3)
    assert second.reopened
    assert first.key != second.key


def test_messages_are_left_out_unless_values_are_allowed(tmp_path) -> None:
    result = sync_result({"8": [stored_query(1)]})
    snap = build_snapshot(result, options_for(tmp_path), as_of=AS_OF, now=NOW)
    assert snap.items[0].message is None
    allowed = options_for(tmp_path, include_values=True)
    snap = build_snapshot(result, allowed, as_of=AS_OF, now=NOW)
    assert snap.items[0].message == "Infusion 3 given; viability 79.9 %."


def test_a_row_with_unreadable_codes_is_never_hidden(tmp_path) -> None:
    odd = stored_query(1, kind=None, severity=None)
    snap = build_snapshot(sync_result({"8": [odd]}), options_for(tmp_path), as_of=AS_OF, now=NOW)
    assert snap.items[0].kind is Kind.QUERY  # not announced as a deviation on a guess
    assert snap.items[0].severity is Severity.CRITICAL  # but listed first


def test_a_partial_run_is_not_complete(tmp_path) -> None:
    result = sync_result({}, partial=True)
    assert not build_snapshot(result, options_for(tmp_path), as_of=AS_OF, now=NOW).complete


class Tally:
    """Stands in for the StudyTally a sync fills."""

    def __init__(self, rows: list[VisitRow]) -> None:
        self.visits = rows
        self.ruleset = type("R", (), {"schedule_anchor": "the first infusion"})()

    def progress(self, group: str | None = None) -> list[tuple[str, int]]:
        return [("Treated", 3 if group is None else 1)]


def row(record: str, status: VisitStatus, start: date) -> VisitRow:
    anchor = date(2026, 1, 1)
    return VisitRow(
        record=record,
        visit="month 2",
        part="follow_up",
        ordinal=2,
        field="mba_date",
        anchor=anchor,
        target=start + timedelta(days=7),
        window_start=start,
        window_end=start + timedelta(days=14),
        sample_date=None,
        status=status,
        event="fu_m2_arm_1",
    )


def test_visits_are_sorted_by_urgency_and_bounded_by_the_horizon(tmp_path) -> None:
    rows = [
        row("1", VisitStatus.UPCOMING, AS_OF + DUE_SOON + timedelta(days=1)),  # too far ahead
        row("2", VisitStatus.UPCOMING, AS_OF + DUE_SOON),
        row("3", VisitStatus.DUE, AS_OF - timedelta(days=10)),
        row("4", VisitStatus.MISSED, AS_OF - timedelta(days=40)),
        row("5", VisitStatus.MISSED, AS_OF - timedelta(days=20)),
        row("6", VisitStatus.IN_WINDOW, AS_OF - timedelta(days=60)),
    ]
    result = sync_result({}, tally=Tally(rows), groups={"2": "site_b"})
    snap = build_snapshot(result, options_for(tmp_path), as_of=AS_OF, now=NOW)
    assert [(v.record, v.state) for v in snap.visits] == [
        ("4", VisitState.OVERDUE),
        ("5", VisitState.OVERDUE),
        ("3", VisitState.DUE_NOW),
        ("2", VisitState.OPENS_SOON),
    ]
    assert [v.note for v in snap.visits] == [
        "window closed 26 days ago",
        "window closed 6 days ago",
        "window closes in 4 days",
        "window opens in 14 days",
    ]
    assert snap.visits[0].event_label == "Follow-up month 2"
    assert snap.progress == (("Treated", 3),)
    assert snap.site_progress == {"site_b": (("Treated", 1),)}
    assert snap.anchor == "the first infusion"
    site = snap.for_site("site_b")
    assert [v.record for v in site.visits] == ["2"]
    assert site.progress == (("Treated", 1),)


def test_a_site_view_keeps_only_its_records(tmp_path) -> None:
    result = sync_result({"1": [stored_query(1)], "2": [stored_query(1)]}, groups={"1": "site_a"})
    snap = build_snapshot(result, options_for(tmp_path), as_of=AS_OF, now=NOW)
    assert [i.record for i in snap.for_site("site_a").items] == ["1"]
    assert replace(snap, items=()).deviations == []
