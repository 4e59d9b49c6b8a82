"""The protocol's terms shared by the BP-LOWER checks: the arm and day 0 (the visit windows
are declared in ``../schedule.toml``).

Participants are the models built from ``mappings/bp_trial.toml``: ``screening``,
``baseline``, ``randomisation`` and ``end_of_study`` (an entry or None), ``visits``
(``.ordinal`` = position in the mapping's visit list) and ``adverse_events`` (lists).
Values are typed and an invalid value is None, so "blank" below includes invalid.
"""

from __future__ import annotations

import re
from datetime import date

from worker.core.rules import PartEntry
from worker.core.wording import day_count

from .models import Params, Participant

# REDCap names an event of arm N `<visit>_arm_N` (its unique event name).
_ARM_SUFFIX = re.compile(r"_arm_(\d+)$")


def arm_of(p: Participant) -> int | None:
    """The REDCap arm the record is in: the arm of the events its data are in."""
    entries: list[PartEntry | None] = [
        p.screening,
        p.baseline,
        p.randomisation,
        p.end_of_study,
        *p.visits,
        *p.adverse_events,
    ]
    for entry in entries:
        if entry is not None and entry.event:
            found = _ARM_SUFFIX.search(entry.event)
            if found:
                return int(found.group(1))
    return None


def arm_name(arm: int, params: Params) -> str | None:
    """The protocol's name of a REDCap arm (``intervention``), from params [arms]."""
    return next((name for name in params.arms if params.arms[name] == arm), None)


def day0(p: Participant) -> date | None:
    """The randomisation date; None when she is not (validly) randomised."""
    return None if p.randomisation is None else p.randomisation.rand_date


def days(later: date, earlier: date) -> int:
    """ "x days after y": date(x) - date(y) in days."""
    return (later - earlier).days


def day_word(n: int) -> str:
    return day_count(abs(n))
