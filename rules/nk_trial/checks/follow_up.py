"""Follow-up windows (SPEC.md, "Follow-up windows"), and the visit schedule behind them.

One function, :func:`schedule`, computes every follow-up month's window and status; NK-WIN-01
and NK-WIN-02 read its rows and the ``visits`` command shows them, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import pairwise

from worker.core.rules import Hit, VisitRow, VisitStatus, at, at_part, check

from .models import Params, Participant
from .terms import (
    day_word,
    days,
    ended_by,
    first_infusion,
    month_name,
    pregnant_during,
    sample_date,
    samples,
    window,
)

PART = "follow_up"  # the mapping part holding fu_m1_arm_1 .. fu_m6_arm_1
DATE_FIELD = "mba_date"
# Why a month's sample is not expected (the visit's status "not expected: <reason>").
ENDED = "ended"  # she had ended the study on or before the window's last day
PREGNANT = "pregnant"  # she was pregnant during the window


# The last participant's schedule: NK-WIN-01, NK-WIN-02 and the run's summaries each ask
# for it in turn, so it is computed once per participant. (Participants are immutable.)
_last: tuple[Participant, date, Params, list[VisitRow]] | None = None


def schedule(p: Participant, as_of: date, params: Params) -> list[VisitRow]:
    """Each follow-up month of a treated participant: target, window, sample and status.

    Day numbers count from D0 (``study.toml``: the first infusion). Status, in this order: a
    sample dated in/out of its window; else not expected, because she had ended on or before
    the window's last day, or was pregnant during the window; else missed (the window ended
    before the as-of date), due now (the window is open on the as-of date) or upcoming.
    """
    global _last
    if _last is not None:
        known, known_as_of, known_params, rows = _last
        if known is p and known_as_of == as_of and known_params is params:
            return list(rows)
    rows = _schedule(p, as_of, params)
    _last = (p, as_of, params, rows)
    return list(rows)


def _schedule(p: Participant, as_of: date, params: Params) -> list[VisitRow]:
    first = first_infusion(p)
    if first is None:
        return []
    start = first.date
    by_month = {f.ordinal: f for f in p.follow_up}
    rows: list[VisitRow] = []
    for month in range(1, params.follow_up.months + 1):
        w = window(start, month, params)
        entry = by_month.get(month)
        sample = None if entry is None else entry.mba_date
        reason = None
        if sample is not None:
            status = VisitStatus.IN_WINDOW if w.contains(sample) else VisitStatus.OUT_OF_WINDOW
        elif ended_by(p, w.end):
            status, reason = VisitStatus.NOT_EXPECTED, ENDED
        elif pregnant_during(p, w):
            status, reason = VisitStatus.NOT_EXPECTED, PREGNANT
        elif w.end < as_of:
            status = VisitStatus.MISSED
        elif w.start <= as_of:
            status = VisitStatus.DUE
        else:
            status = VisitStatus.UPCOMING
        evidence = first.entry.evidence("inf_date")
        if entry is not None:
            evidence |= entry.evidence(DATE_FIELD)
        rows.append(
            VisitRow(
                record=p.record_id,
                visit=f"month {month}",
                part=PART,
                ordinal=month,
                field=DATE_FIELD,
                anchor=start,
                target=w.target,
                window_start=w.start,
                window_end=w.end,
                sample_date=sample,
                status=status,
                reason=reason,
                evidence=evidence,
            )
        )
    return rows


def _window_words(row: VisitRow) -> str:
    return f"days {row.start_day}–{row.end_day}"


@check(
    "NK-WIN-01",
    kind="deviation",
    severity="major",
    title="Follow-up sample taken outside its month's window",
)
def sample_outside_window(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for row in schedule(p, as_of, params):
        if row.status is VisitStatus.OUT_OF_WINDOW:
            yield at_part(
                PART,
                DATE_FIELD,
                f"Sample for {row.visit} taken on day {row.sample_day} after the first "
                f"infusion; window is {_window_words(row)}.",
                row.evidence,
                ordinal=row.ordinal,
            )


@check(
    "NK-WIN-02",
    kind="deviation",
    severity="major",
    title="Follow-up month missed: window closed with no sample",
)
def missed_month(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for row in schedule(p, as_of, params):
        if row.status is VisitStatus.MISSED:
            yield at_part(
                PART,
                DATE_FIELD,
                f"No sample for {row.visit}: its window ({_window_words(row)} after the "
                "first infusion) has closed, and she had neither ended the study nor been "
                "pregnant during it.",
                row.evidence,
                ordinal=row.ordinal,
            )


@check(
    "NK-WIN-03",
    kind="query",
    severity="minor",
    title="Consecutive follow-up samples too close together",
)
def samples_too_close(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    minimum = params.follow_up.min_days_between_samples
    for earlier, later in pairwise(samples(p)):
        gap = days(sample_date(later), sample_date(earlier))
        if gap < minimum:
            apart = "on the same day" if gap == 0 else f"{day_word(gap)} apart"
            yield at(
                later,
                DATE_FIELD,
                f"Samples for {month_name(earlier)} and {month_name(later)} were taken "
                f"{apart}; consecutive samples should be at least {minimum} days apart.",
                earlier.evidence(DATE_FIELD) | later.evidence(DATE_FIELD),
            )
