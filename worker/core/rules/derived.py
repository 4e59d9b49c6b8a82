"""Terms a study's checks share, worked out once per participant however many checks ask.

A protocol defines terms its checks read again and again ("the doses, numbered by date";
"day 0"). Declared with :func:`derived`, such a term stays a plain function of the
participant, and the first call on a participant keeps its value on that participant for
the others::

    @derived
    def doses(p: Participant) -> tuple[Dose, ...]:
        ...

A participant is immutable (a frozen model), so a pure function of it has one value for
its life. The value is shared by every check that asks: return something immutable (a
tuple, not a list). The function must read the participant only (not the as-of date or the
parameters: those are the checks' own arguments).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from worker.core.mapping import Participant

P = TypeVar("P", bound=Participant)
T = TypeVar("T")

# Where a participant keeps its derived values: a key of its instance ``__dict__``, as
# ``functools.cached_property`` keeps its value (pydantic leaves such keys out of equality,
# dumps and repr). Never a field's name: a field name is an identifier.
_KEY = "worker:derived"


class _Values:
    """One participant's derived values, by term. ``owner`` tells a copy of the participant
    (``model_copy`` copies its ``__dict__``, with this) from the one they were derived from."""

    __slots__ = ("by_term", "owner")

    def __init__(self, owner: Participant) -> None:
        self.owner = weakref.ref(owner)
        self.by_term: dict[str, Any] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled (or deep-copied) participant derives its terms again, from its own data.
        return (_nothing, ())


def _nothing() -> None:
    return None


def derived(fn: Callable[[P], T]) -> Callable[[P], T]:
    """``fn(participant)``, computed once per participant (see the module's doc)."""
    term = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def once(participant: P) -> T:
        kept = participant.__dict__.get(_KEY)
        if kept is None or kept.owner() is not participant:
            kept = participant.__dict__[_KEY] = _Values(participant)
        by_term = kept.by_term
        if term in by_term:
            value: T = by_term[term]
        else:
            value = by_term[term] = fn(participant)
        return value

    return once
