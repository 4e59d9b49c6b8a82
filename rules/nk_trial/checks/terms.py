"""The protocol's "Terms used by the checks", as functions every check section shares.

Participants are the models built from ``mappings/nk_trial.toml``: ``screening`` and
``end_of_study`` (an entry or None), ``treatments``, ``follow_up`` (``.ordinal`` = month k),
``pregnancies`` and ``adverse_events`` (lists). Values are typed and an invalid value is
None, so "blank" below includes invalid (protocol: the study checks read valid values only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from worker.core.rules import derived
from worker.core.wording import day_count

from .models import FollowUp, MenstrualBloodAnalysis, Params, Participant, Treatment


@dataclass(frozen=True, slots=True)
class Infusion:
    """A treatment instance whose ``inf_date`` is filled, numbered by date."""

    number: int
    entry: Treatment

    @property
    def date(self) -> date:
        assert self.entry.inf_date is not None  # infusions() keeps only dated treatments
        return self.entry.inf_date


@derived
def infusions(p: Participant) -> tuple[Infusion, ...]:
    """Infusions numbered by ``inf_date``, ties by instance number (protocol: infusion)."""
    given = sorted(
        (t for t in p.treatments if t.inf_date is not None),
        key=lambda t: (t.inf_date, t.instance or 0),
    )
    return tuple(Infusion(n, t) for n, t in enumerate(given, start=1))


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
    return day_count(abs(n))


def relative(later: date, earlier: date) -> str:
    """``"3 days after"``, ``"2 days before"`` or ``"on the same day as"``."""
    n = days(later, earlier)
    if n == 0:
        return "on the same day as"
    return f"{day_word(n)} {'after' if n > 0 else 'before'}"


# --- Follow-up (the months' windows are declared in ../schedule.toml) -------------------


@derived
def samples(p: Participant) -> tuple[FollowUp, ...]:
    """Follow-up samples with a date, in protocol order: by (``mba_date``, month k)."""
    dated = (f for f in p.follow_up if f.mba_date is not None)
    return tuple(sorted(dated, key=lambda f: (sample_date(f), f.ordinal or 0)))


def sample_date(sample: FollowUp) -> date:
    """The date of a sample from :func:`samples` (which are all dated)."""
    assert sample.mba_date is not None
    return sample.mba_date


def is_improved(sample: MenstrualBloodAnalysis, params: Params) -> bool:
    return sample.mba_unk_status == params.codes.mba_unk_status.normal


def month_name(sample: FollowUp) -> str:
    return f"month {sample.ordinal}"
