"""A visit row and its statuses (worker/core/visits.py), as commands, reports and emails
show them: days counted from the anchor, the status in words, soonest due first."""

from __future__ import annotations

from datetime import date, timedelta

from worker.core.visits import VisitRow, VisitStatus, sort_visits

ANCHOR = date(2026, 1, 1)


def visit(
    record: str = "1",
    *,
    status: VisitStatus = VisitStatus.UPCOMING,
    target: int = 28,
    window: int = 7,
    sample: int | None = None,
    reason: str | None = None,
    ordinal: int | None = 1,
) -> VisitRow:
    def on(day: int) -> date:
        return ANCHOR + timedelta(days=day)

    return VisitRow(
        record=record,
        visit=f"visit {target}",
        part="visits",
        ordinal=ordinal,
        field="vs_date",
        anchor=ANCHOR,
        target=on(target),
        window_start=on(target - window),
        window_end=on(target + window),
        sample_date=None if sample is None else on(sample),
        status=status,
        event="week_4_arm_1",
        reason=reason,
    )


def test_days_count_from_the_anchor_as_day_0() -> None:
    row = visit(target=28, window=7, sample=30)
    assert row.day(ANCHOR) == 0
    assert (row.target_day, row.start_day, row.end_day, row.sample_day) == (28, 21, 35, 30)
    assert visit(sample=None).sample_day is None


def test_a_visit_not_expected_says_why_in_the_studys_words() -> None:
    assert visit(status=VisitStatus.NOT_EXPECTED, reason="ended").status_text == (
        "not expected: ended"
    )
    assert visit(status=VisitStatus.NOT_EXPECTED).status_text == "not expected"
    assert visit(status=VisitStatus.MISSED, reason="ignored").status_text == "missed"


def test_the_public_row_has_iso_dates_day_numbers_and_the_status_text() -> None:
    row = visit(status=VisitStatus.IN_WINDOW, target=28, window=7, sample=27)
    assert row.public() == {
        "record": "1",
        "visit": "visit 28",
        "event": "week_4_arm_1",
        "target": "2026-01-29",
        "window_start": "2026-01-22",
        "window_end": "2026-02-05",
        "target_day": 28,
        "window_days": [21, 35],
        "sample_date": "2026-01-28",
        "sample_day": 27,
        "status": "in window",
    }


def test_due_visits_come_first_closing_soonest_then_upcoming_opening_soonest() -> None:
    rows = [
        visit("a", status=VisitStatus.IN_WINDOW, target=10),
        visit("b", status=VisitStatus.UPCOMING, target=90),
        visit("c", status=VisitStatus.DUE, target=40, window=14),  # closes day 54
        visit("d", status=VisitStatus.UPCOMING, target=60),
        visit("e", status=VisitStatus.DUE, target=50, window=2),  # closes day 52
        visit("f", status=VisitStatus.NOT_EXPECTED, target=5),
        visit("g", status=VisitStatus.MISSED, target=20),
        visit("h", status=VisitStatus.OUT_OF_WINDOW, target=15),
    ]
    assert [r.record for r in sort_visits(rows)] == ["e", "c", "d", "b", "g", "h", "a", "f"]


def test_ties_are_broken_by_record_in_the_protocols_order_then_ordinal() -> None:
    rows = [visit("10"), visit("9", ordinal=2), visit("9", ordinal=None), visit("1a")]
    assert [(r.record, r.ordinal) for r in sort_visits(rows)] == [
        ("9", None),
        ("9", 2),
        ("10", 1),
        ("1a", 1),
    ]
