"""Record-ID bookkeeping for two-stage exports (dedupe, REDCap-like ordering, batching), and
reading record exports answered as CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

_DIGITS = re.compile(r"([0-9]+)")
# What bytes that are not UTF-8 become in a decoded answer.
UNDECODABLE = "\ufffd"
_BYTE_ORDER_MARK = "\ufeff"


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


def _lines(text: str) -> Iterator[str]:
    """``text`` a line at a time, each with its line break: no copy of the whole text (as
    ``splitlines`` or ``io.StringIO`` would make) sits beside it."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def read_csv(text: str) -> tuple[Iterator[list[str]], list[str]]:
    """A CSV answer's rows still to read, and its header (a byte order mark dropped). Only
    the header is read here: the rows are read as they are asked for."""
    reader = csv.reader(_lines(text))
    header = next(reader)
    if header:
        header[0] = header[0].removeprefix(_BYTE_ORDER_MARK)
    return reader, header


# A line's first field (the record ID's column in every export REDCap writes).
_FIRST_FIELD = re.compile(r"^[^,\r\n]*", re.MULTILINE)


def ids_of_csv(text: str, id_field: str) -> list[str] | None:
    """The distinct values of the ``id_field`` column of a CSV export, first-seen order;
    None when the header has no such column. A blank answer lists no records."""
    if not text or text.isspace():
        return []
    rows, header = read_csv(text)
    if id_field not in header:
        return None
    column = header.index(id_field)
    if column == 0 and _plain(text):
        return _first_fields(text)
    ids: dict[str, None] = {}
    for row in rows:
        if len(row) > column:
            ids.setdefault(row[column])
    return list(ids)


def _plain(text: str) -> bool:
    """No field of ``text`` is quoted (no quote character), none of its rows starts blank,
    and each carriage return ends a line: its rows are its lines, its fields what commas
    separate, as the CSV reader reads them."""
    return '"' not in text and "\n," not in text and text.count("\r") == text.count("\r\n")


def _first_fields(text: str) -> list[str]:
    """``ids_of_csv`` of a ``_plain`` text's first column, read by one pattern rather than
    row by row (a listing has a row per record, event and instance: 35,000 at 5,000
    participants); a blank line is no row."""
    ids = dict.fromkeys(_FIRST_FIELD.findall(text, text.find("\n") + 1 or len(text)))
    ids.pop("", None)  # blank lines only: no row starts blank
    return list(ids)


def rows_of_csv(text: str) -> list[dict[str, str]] | None:
    """The flat rows of a CSV record export, as its JSON would give them (a dict per row,
    every column named); None when a row's columns do not match the header's (not an answer
    REDCap gives). A blank answer has no rows."""
    if not text or text.isspace():
        return []
    reader, header = read_csv(text)
    width = len(header)
    rows = []
    for row in reader:
        if len(row) != width:
            if not row:  # a blank line
                continue
            return None
        rows.append(dict(zip(header, row, strict=True)))
    return rows
