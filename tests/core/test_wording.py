"""Counts in words (worker/core/wording.py), as every message, summary and page writes them."""

from __future__ import annotations

from worker.core.wording import day_count


def test_one_day_is_singular() -> None:
    assert day_count(1) == "1 day"


def test_every_other_count_is_plural() -> None:
    assert [day_count(n) for n in (0, 2, 14)] == ["0 days", "2 days", "14 days"]
