"""``@condition``: a Python reason a visit is not expected, for what the data cannot say.

In the rules folder's checks::

    from worker.core.rules import condition

    @condition("on_hold")
    def site_on_hold(p, window_start, window_end) -> bool:
        ...

and in ``schedule.toml``::

    [[not_expected]]
    reason = "site on hold"
    condition = "on_hold"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MARK = "__worker_schedule_condition__"


def condition(name: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Declare ``fn(participant, window_start, window_end) -> bool`` under ``name``."""
    if not name or not name.strip():
        raise ValueError("a condition needs a name")

    def mark(fn: Callable[..., bool]) -> Callable[..., bool]:
        setattr(fn, _MARK, name.strip())
        return fn

    return mark


def declared_condition(obj: Any) -> str | None:
    """The name an object was declared as a condition under, if any (used by the loader)."""
    found = getattr(obj, _MARK, None)
    return found if isinstance(found, str) else None
