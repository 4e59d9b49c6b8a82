"""The protocol's terms shared by the BP-LOWER checks: the arm, day 0, visit windows, ended.

Participants are the models built from ``mappings/bp_trial.toml``: ``screening``,
``baseline``, ``randomisation`` and ``end_of_study`` (an entry or None), ``visits``
(``.ordinal`` = position in the mapping's visit list) and ``adverse_events`` (lists).
Values are typed and an invalid value is None, so "blank" below includes invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from worker.core.rules import Params, Participant

Entry = Any  # a part entry of the participant model

# REDCap names an event of arm N `<visit>_arm_N` (its unique event name).
_ARM_SUFFIX = re.compile(r"_arm_(\d+)$")
_PARTS = ("screening", "baseline", "randomisation", "end_of_study")


def arm_of(p: Participant) -> int | None:
    """The REDCap arm the record is in: the arm of the events its data are in."""
    entries = [getattr(p, name) for name in _PARTS] + list(p.visits) + list(p.adverse_events)
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
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"


@dataclass(frozen=True, slots=True)
class Window:
    """A visit's window (protocol: Visits): target day +/- the visit's window_days."""

    visit: str  # the visit's name in params and the mapping (``week_4``)
    ordinal: int  # its position in the mapping part's event list
    target: date
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        """``week 4``: how messages and the visits command name it."""
        return self.visit.replace("_", " ")


def windows(start: date, arm: int, params: Params) -> list[Window]:
    """The windows of the visits of ``arm``, in protocol order, from day 0 ``start``."""
    found = []
    for ordinal, visit in enumerate(params.visits, start=1):
        spec = params.visits[visit]
        if arm not in spec.arms:
            continue
        target = start + timedelta(days=spec.day)
        half = timedelta(days=spec.window_days)
        found.append(Window(visit, ordinal, target, target - half, target + half))
    return found


def ended_by(p: Participant, day: date) -> bool:
    """She had ended (``eos_date`` filled) on or before ``day``."""
    eos = p.end_of_study
    return eos is not None and eos.eos_date is not None and eos.eos_date <= day
