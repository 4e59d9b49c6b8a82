"""Record-ID bookkeeping for two-stage exports: dedupe, REDCap-like ordering, batching."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

_DIGITS = re.compile(r"([0-9]+)")


def unique(ids: Iterable[str]) -> list[str]:
    """Drop repeats (a longitudinal export has one row per event), keeping first-seen order."""
    return list(dict.fromkeys(ids))


def _number_key(digits: str) -> tuple[int, str]:
    # By value without converting: int() refuses more than 4300 digits.
    significant = digits.lstrip("0")
    return len(significant), significant


def natural_key(record_id: str) -> tuple[tuple[str | tuple[int, str], ...], str]:
    """``"site2-10"`` sorts after ``"site2-9"``; case-insensitive; ties broken by the text."""
    # re.split with a group alternates text, digits, text...: positions never mix types.
    parts = _DIGITS.split(record_id)
    key = tuple(_number_key(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return key, record_id


def sort_record_ids(ids: Iterable[str]) -> list[str]:
    """Integers numerically when every ID is one, else natural order (as REDCap sorts)."""
    ids = list(ids)
    if all(i.isascii() and i.isdigit() for i in ids):
        return sorted(ids, key=lambda i: (_number_key(i), i))
    return sorted(ids, key=natural_key)


def batched(items: Sequence[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
