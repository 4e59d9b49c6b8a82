"""Follow-up windows (SPEC.md, "Follow-up windows"): the check the schedule does not drive.

The follow-up months' windows, NK-WIN-01 (sample outside its window) and NK-WIN-02 (month
missed) are declared as data in ``../schedule.toml``; the worker computes them, and the
``visits`` command, the report and the emails show the same rows. NK-WIN-03 compares
samples with each other, not with a window, so it stays here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import pairwise

from worker.core.rules import Hit, at, check

from .models import Params, Participant
from .terms import day_word, days, month_name, sample_date, samples

DATE_FIELD = "mba_date"


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
