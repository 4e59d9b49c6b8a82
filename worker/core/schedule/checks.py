"""The schedule's two checks, as pure functions of a participant's visit rows.

The study declares each check's ID, kind, severity, title and message in ``schedule.toml``
(``[checks.out_of_window]``, ``[checks.missed]``); a study that declares neither still has
its schedule for ``visits``, the report and the emails. The hit goes on the visit's date
field, in the visit's event (the participant's own arm's, where the mapping names a visit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from worker.core.rules.declare import Hit, at_part
from worker.core.schedule.spec import MISSED, OUT_OF_WINDOW, ScheduleCheck
from worker.core.visits import VisitRow, VisitStatus

# Which rows each check reports.
_STATUS = {OUT_OF_WINDOW: VisitStatus.OUT_OF_WINDOW, MISSED: VisitStatus.MISSED}


def schedule_hits(
    key: str, check: ScheduleCheck, rows: Iterable[VisitRow], as_of: date
) -> Iterator[Hit]:
    """The hits of the check declared under ``[checks.<key>]`` over one participant's rows."""
    for row in rows:
        if row.status is _STATUS[key]:
            yield at_part(
                row.part,
                row.field,
                message(check, row, as_of),
                row.evidence,
                ordinal=row.ordinal,
            )


def message(check: ScheduleCheck, row: VisitRow, as_of: date) -> str:
    """The study's message for a row; day counts only, never a calendar date."""
    return check.message.format(
        visit=row.visit,
        target_day=row.target_day,
        start_day=row.start_day,
        end_day=row.end_day,
        sample_day="" if row.sample_day is None else row.sample_day,
        days_closed=max(0, (as_of - row.window_end).days),
        reason=row.reason or "",
    )
