"""The protocol's "Terms used by the checks", as functions every check section shares.

Participants are the models built from ``mappings/nk_trial.toml``: ``screening`` and
``end_of_study`` (an entry or None), ``treatments``, ``follow_up`` (``.ordinal`` = month k),
``pregnancies`` and ``adverse_events`` (lists). Values are typed and an invalid value is
None, so "blank" below includes invalid (protocol: the study checks read valid values only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from worker.core.rules import Params, Participant

Entry = Any  # a part entry of the participant model


@dataclass(frozen=True, slots=True)
class Infusion:
    """A treatment instance whose ``inf_date`` is filled, numbered by date."""

    number: int
    entry: Entry

    @property
    def date(self) -> date:
        return self.entry.inf_date


def infusions(p: Participant) -> list[Infusion]:
    """Infusions numbered by ``inf_date``, ties by instance number (protocol: infusion)."""
    given = sorted(
        (t for t in p.treatments if t.inf_date is not None),
        key=lambda t: (t.inf_date, t.instance or 0),
    )
    return [Infusion(n, t) for n, t in enumerate(given, start=1)]


def first_infusion(p: Participant) -> Infusion | None:
    found = infusions(p)
    return found[0] if found else None


def d0(p: Participant) -> date | None:
    """The first infusion date; None when she is not treated."""
    first = first_infusion(p)
    return None if first is None else first.date


def is_treated(p: Participant) -> bool:
    return d0(p) is not None


def days(later: date, earlier: date) -> int:
    """ "x days after y": date(x) - date(y) in days."""
    return (later - earlier).days


def day_word(n: int) -> str:
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"


def relative(later: date, earlier: date) -> str:
    """``"3 days after"``, ``"2 days before"`` or ``"on the same day as"``."""
    n = days(later, earlier)
    if n == 0:
        return "on the same day as"
    return f"{day_word(n)} {'after' if n > 0 else 'before'}"


# --- Follow-up (the months' windows are declared in ../schedule.toml) -------------------


def samples(p: Participant) -> list[Entry]:
    """Follow-up samples with a date, in protocol order: by (``mba_date``, month k)."""
    dated = (f for f in p.follow_up if f.mba_date is not None)
    return sorted(dated, key=lambda f: (f.mba_date, f.ordinal))


def is_improved(sample: Entry, params: Params) -> bool:
    return sample.mba_unk_status == params.codes.mba_unk_status.normal


def month_name(sample: Entry) -> str:
    return f"month {sample.ordinal}"
