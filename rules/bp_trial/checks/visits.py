"""Visit windows (protocol: Visits), and the visit schedule behind them.

:func:`schedule` computes each of a randomised participant's visits (those of her arm) with
its window and status; BP-WIN-01 and BP-WIN-02 read its rows and the ``visits`` command shows
them, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, Params, Participant, VisitRow, VisitStatus, at_part, check

from .terms import arm_of, day0, ended_by, windows

PART = "visits"  # the mapping part holding week_4, week_12, week_24
DATE_FIELD = "vs_date"
# Why a visit is not expected (the visit's status "not expected: <reason>").
ENDED = "ended"  # the participant had ended the study on or before the window's last day


def schedule(p: Participant, as_of: date, params: Params) -> list[VisitRow]:
    """Each visit of a randomised participant's arm: target, window, date and status.

    Day numbers count from the randomisation date (``study.toml``: randomisation). Status,
    in this order: measured in/out of its window; else not expected because she had ended
    on or before the window's last day; else missed (the window closed before the
    as-of date), due now (open on the as-of date) or upcoming.
    """
    start = day0(p)
    arm = arm_of(p)
    if start is None or arm is None:
        return []
    by_ordinal = {v.ordinal: v for v in p.visits}
    rows = []
    for w in windows(start, arm, params):
        entry = by_ordinal.get(w.ordinal)
        measured = None if entry is None else entry.vs_date
        reason = None
        if measured is not None:
            status = VisitStatus.IN_WINDOW if w.contains(measured) else VisitStatus.OUT_OF_WINDOW
        elif ended_by(p, w.end):
            status, reason = VisitStatus.NOT_EXPECTED, ENDED
        elif w.end < as_of:
            status = VisitStatus.MISSED
        elif w.start <= as_of:
            status = VisitStatus.DUE
        else:
            status = VisitStatus.UPCOMING
        evidence = p.randomisation.evidence("rand_date")
        if entry is not None:
            evidence |= entry.evidence(DATE_FIELD)
        rows.append(
            VisitRow(
                record=p.record_id,
                visit=w.label,
                part=PART,
                ordinal=w.ordinal,
                field=DATE_FIELD,
                anchor=start,
                target=w.target,
                window_start=w.start,
                window_end=w.end,
                sample_date=measured,
                status=status,
                reason=reason,
                evidence=evidence,
            )
        )
    return rows


def _at_visit(row: VisitRow, message: str) -> Hit:
    """A hit on the visit's date; the worker puts it in the participant's own arm's event
    (the mapping names the visit, e.g. ``week_12``, for both arms)."""
    return at_part(PART, DATE_FIELD, message, row.evidence, ordinal=row.ordinal)


def _window_words(row: VisitRow) -> str:
    return f"days {row.start_day}–{row.end_day} after randomisation"


@check(
    "BP-WIN-01",
    kind="deviation",
    severity="major",
    title="Visit outside its window",
)
def visit_outside_window(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for row in schedule(p, as_of, params):
        if row.status is VisitStatus.OUT_OF_WINDOW:
            yield _at_visit(
                row,
                f"The {row.visit} visit took place on day {row.sample_day} after "
                f"randomisation; its window is {_window_words(row)}.",
            )


@check(
    "BP-WIN-02",
    kind="deviation",
    severity="major",
    title="Visit missed: window closed with no visit",
)
def visit_missed(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for row in schedule(p, as_of, params):
        if row.status is VisitStatus.MISSED:
            yield _at_visit(
                row,
                f"No {row.visit} visit: its window ({_window_words(row)}) has closed and "
                "the participant had not ended the study.",
            )
