"""``pipeline.read_ahead``: the next batch is exported on a helper thread while this one is
checked; to the consumer it is the same sequence, with the same errors in the same place."""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Iterator

import pytest

from worker.pipeline import read_ahead

WHO = contextvars.ContextVar("WHO", default="nobody")


def test_items_come_in_order_and_all_of_them() -> None:
    assert list(read_ahead(iter(range(100)))) == list(range(100))
    assert list(read_ahead(x for x in ())) == []


def test_an_error_is_raised_in_its_place_after_the_items_before_it() -> None:
    boom = RuntimeError("REDCap went away")

    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise boom

    seen: list[int] = []

    def consume() -> None:
        for item in read_ahead(source()):
            seen.append(item)

    with pytest.raises(RuntimeError) as caught:
        consume()
    assert seen == [1, 2]
    assert caught.value is boom
    assert caught.value.__context__ is None  # nothing chained on the way


def test_a_consumer_that_stops_early_stops_the_reading_and_closes_the_source() -> None:
    pulled: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for n in range(1000):
                pulled.append(n)
                yield n
        finally:
            closed.set()

    for item in read_ahead(source()):
        if item == 3:
            break
    assert closed.wait(5)
    assert len(pulled) <= 3 + 1 + 2  # consumed, one in the queue, one being handed over


def test_the_source_runs_on_a_helper_thread_with_the_callers_context_variables() -> None:
    seen: list[tuple[str, bool]] = []

    def source() -> Iterator[int]:
        seen.append((WHO.get(), threading.current_thread() is threading.main_thread()))
        yield 1

    token = WHO.set("the scheduler's run")
    try:
        assert list(read_ahead(source())) == [1]
    finally:
        WHO.reset(token)
    assert seen == [("the scheduler's run", False)]


def test_lists_are_not_read_ahead() -> None:
    batches = [[{"a": "1"}], [{"a": "2"}]]
    assert list(read_ahead(batches)) == batches
    assert list(read_ahead(tuple(batches))) == batches


def test_the_gil_switch_interval_is_restored_afterwards() -> None:
    before = sys.getswitchinterval()
    during = []
    for _ in read_ahead(iter(range(3))):
        during.append(sys.getswitchinterval())
    assert max(during) <= 0.0005 < before
    assert sys.getswitchinterval() == before

    def fail_while_consuming() -> None:
        for _ in read_ahead(iter(range(3))):
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_while_consuming()
    assert sys.getswitchinterval() == before
