"""Counts in words, as every message, summary and page writes them."""

from __future__ import annotations


def day_count(n: int) -> str:
    """``1 day``, ``3 days``."""
    return "1 day" if n == 1 else f"{n} days"
