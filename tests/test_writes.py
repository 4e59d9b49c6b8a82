"""``writes.import_batches``: import batches sized by rows and by bytes, a record's rows
together."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from worker.writes import BATCH_BYTES, BATCH_ROWS, import_batches


@dataclass(frozen=True)
class Row:
    record: str
    row: dict[str, Any]


def rows(record: str, n: int, text: str = "x") -> list[Row]:
    return [Row(record, {"record_id": record, "n": i, "msg": text}) for i in range(n)]


def records_of(batches: Iterable[list[Row]]) -> list[list[str]]:
    return [list(dict.fromkeys(r.record for r in batch)) for batch in batches]


def test_batches_keep_the_order_and_stop_at_the_row_limit() -> None:
    items = rows("1", 2) + rows("2", 2) + rows("3", 2)
    batches = list(import_batches(items, rows=4, size=BATCH_BYTES))
    assert [r for b in batches for r in b] == items
    assert records_of(batches) == [["1", "2"], ["3"]]


def test_a_records_rows_stay_in_one_batch() -> None:
    items = rows("1", 3) + rows("2", 3)
    assert records_of(import_batches(items, rows=4, size=BATCH_BYTES)) == [["1"], ["2"]]


def test_rows_of_one_record_scattered_in_the_plan_go_together() -> None:
    items = rows("1", 1) + rows("2", 1) + rows("1", 1)
    [batch] = import_batches(items, rows=BATCH_ROWS, size=BATCH_BYTES)
    assert [r.record for r in batch] == ["1", "1", "2"]


def test_batches_stop_at_the_byte_limit() -> None:
    big = "é" * 300  # two bytes each in UTF-8
    one_row = len(json.dumps(rows("1", 1, big)[0].row, ensure_ascii=False).encode()) + 1
    items = [r for record in "123456" for r in rows(record, 1, big)]
    batches = list(import_batches(items, rows=BATCH_ROWS, size=2 * one_row))
    assert [len(b) for b in batches] == [2, 2, 2]


def test_a_record_with_more_rows_than_a_batch_is_split() -> None:
    items = rows("1", 5) + rows("2", 1)
    batches = list(import_batches(items, rows=2, size=BATCH_BYTES))
    assert [len(b) for b in batches] == [2, 2, 2]
    assert records_of(batches) == [["1"], ["1"], ["1", "2"]]


def test_no_rows_no_batches() -> None:
    assert list(import_batches([], rows=BATCH_ROWS, size=BATCH_BYTES)) == []


@dataclass(frozen=True)
class Unmeasurable:
    record: str

    @property
    def row(self) -> dict[str, Any]:
        raise AssertionError("measured before the batches ahead of it were sent")


def test_a_batch_is_handed_on_before_the_rows_after_it_are_measured() -> None:
    items: list[Any] = [*rows("1", 2), *rows("2", 2), *rows("3", 1), Unmeasurable("4")]
    batches = import_batches(items, rows=4, size=BATCH_BYTES)
    assert [r.record for r in next(batches)] == ["1", "1", "2", "2"]
