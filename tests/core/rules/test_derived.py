"""Terms worked out once per participant (worker/core/rules/derived.py)."""

from __future__ import annotations

import copy
import pickle
from datetime import date

import pytest

from worker.core.rules import ParticipantBase, derived


class Participant(ParticipantBase):
    dose_dates: list[date]


class Counted:
    """A term that counts how often it is worked out."""

    def __init__(self) -> None:
        self.calls = 0

        @derived
        def ordered(p: Participant) -> tuple[date, ...]:
            self.calls += 1
            return tuple(sorted(p.dose_dates))

        self.term = ordered


def participant(record_id: str = "1", *days: int) -> Participant:
    return Participant(record_id=record_id, dose_dates=[date(2026, 1, d) for d in days])


def test_a_term_is_worked_out_once_per_participant_however_often_it_is_asked() -> None:
    counted = Counted()
    p = participant("1", 9, 2)
    first = counted.term(p)
    assert counted.term(p) is first
    assert first == (date(2026, 1, 2), date(2026, 1, 9))
    assert counted.calls == 1


def test_each_participant_has_its_own_value() -> None:
    counted = Counted()
    a, b = participant("1", 3), participant("2", 4, 5)
    assert counted.term(a) == (date(2026, 1, 3),)
    assert counted.term(b) == (date(2026, 1, 4), date(2026, 1, 5))
    assert counted.term(a) == (date(2026, 1, 3),)
    assert counted.calls == 2


def test_terms_are_kept_apart_from_each_other() -> None:
    @derived
    def first(p: Participant) -> date:
        return min(p.dose_dates)

    @derived
    def last(p: Participant) -> date:
        return max(p.dose_dates)

    p = participant("1", 7, 1, 4)
    assert (first(p), last(p), first(p)) == (date(2026, 1, 1), date(2026, 1, 7), date(2026, 1, 1))


def test_a_changed_copy_works_its_terms_out_from_its_own_data() -> None:
    counted = Counted()
    p = participant("1", 3)
    counted.term(p)
    changed = p.model_copy(update={"dose_dates": [date(2026, 2, 1)]})
    assert counted.term(changed) == (date(2026, 2, 1),)
    assert counted.term(p) == (date(2026, 1, 3),)


@pytest.mark.parametrize(
    "remade", [lambda p: pickle.loads(pickle.dumps(p)), copy.deepcopy], ids=["pickle", "deepcopy"]
)
def test_a_remade_participant_derives_again(remade: object) -> None:
    counted = Counted()
    p = participant("1", 3)
    counted.term(p)
    again = remade(p)  # type: ignore[operator]
    assert counted.term(again) == (date(2026, 1, 3),)
    assert counted.calls == 2


def test_a_participant_with_derived_terms_is_still_the_same_model() -> None:
    counted = Counted()
    p, twin = participant("1", 3), participant("1", 3)
    counted.term(p)
    assert p == twin
    assert p.model_dump() == twin.model_dump()
    assert repr(p) == repr(twin)


def test_a_term_that_raises_keeps_nothing_and_raises_again() -> None:
    @derived
    def first(p: Participant) -> date:
        return min(p.dose_dates)

    p = participant("1")
    for _ in range(2):
        with pytest.raises(ValueError, match="empty"):
            first(p)


def test_the_term_keeps_its_name_and_documentation() -> None:
    @derived
    def first(p: Participant) -> date:
        """The first dose."""
        return min(p.dose_dates)

    assert first.__name__ == "first"
    assert first.__doc__ == "The first dose."
