"""Several requests at once, in order: a bounded window of tasks on a thread pool.

The client's export batches and the writers' import batches run through ``in_order``: at
most ``width`` tasks run at once, and at most ``width + 1`` are running or done and not yet
handed on, besides the result the consumer holds, so no more than ``width + 2`` results are
held at once whatever the project's size; results come back in the order the tasks were
given, so what the consumer sees is the sequential run's sequence. The rate ceiling is the
transport's (one limiter for every thread) and so is the bound on requests in flight.

A task abandoned (a sibling failed, the consumer went away) stops at its next request
attempt: ``abandon_when`` tells the transport, through a context variable each task runs
under, to raise ``Abandoned`` there instead of sending.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from worker.handover import prompt_handover

T = TypeVar("T")

_abandoned: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "abandoned", default=None
)


class Abandoned(Exception):
    """The task this request belonged to was given up (a sibling failed, or nobody waits for
    its result any more): the request was not sent."""


@contextmanager
def abandon_when(check: Callable[[], bool]) -> Iterator[None]:
    """Inside the block (in this context), requests whose ``check`` says yes are not sent."""
    token = _abandoned.set(check)
    try:
        yield
    finally:
        _abandoned.reset(token)


@contextmanager
def on_its_own() -> Iterator[None]:
    """Inside the block (in this context), requests are never given up with a task: for work
    a task hands to a thread of its own, which outlives it by design."""
    token = _abandoned.set(None)
    try:
        yield
    finally:
        _abandoned.reset(token)


def may_be_abandoned() -> bool:
    """Whether this context runs a task that can be given up."""
    return _abandoned.get() is not None


def is_abandoned() -> bool:
    check = _abandoned.get()
    return check is not None and check()


def in_order(
    tasks: Iterable[Callable[[], T]],
    *,
    width: int,
    name: str,
    cancel: threading.Event | None = None,
) -> Generator[T, None, None]:
    """Each task's result, in the tasks' order, with up to ``width`` tasks running ahead of
    the consumer on a pool of ``width`` threads (``width`` 1: each task runs in the
    consumer's thread when its result is asked for, as a plain loop would, until ``cancel``
    is set). One result done ahead of its turn may wait besides them: a consumer still busy
    with the result before does not keep a thread idle (on a slow server, an idle thread is
    a request not in flight).

    A task's exception is raised in its place, after the results before it. Tasks run in a
    copy of the context of the thread that started them (log settings carry over) and stop
    at their next request once ``cancel`` is set, which happens, at the latest, when this
    generator ends, whether by an error, by the consumer closing it or by running out. It
    then waits for the tasks still running (each finishes the request it is in), so no
    thread outlives it.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    if width == 1:
        for task in tasks:
            if cancel is not None and cancel.is_set():
                return
            yield task()
        return
    cancel = cancel if cancel is not None else threading.Event()
    pending = iter(tasks)
    window: deque[Future[T]] = deque()
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix=name)

    def guarded(task: Callable[[], T]) -> T:
        with abandon_when(cancel.is_set):
            return task()

    def top_up() -> None:
        # One task more than the pool has threads: it waits in the pool's queue and starts
        # the moment a thread is free, not when the consumer next asks for a result.
        while len(window) <= width and not cancel.is_set():
            task = next(pending, None)
            if task is None:
                return
            context = contextvars.copy_context()
            window.append(pool.submit(context.run, guarded, task))

    # The pool's requests leave when the rate limiter lets them, not when the consumer's
    # work next yields the interpreter (see worker.handover).
    with prompt_handover():
        try:
            top_up()
            while window:
                head = window.popleft()
                result = head.result()  # raises the task's exception, in its place
                del head
                # The next task starts before this result is handed on: while the consumer works
                # on it, ``width`` tasks stay running (on a slow server, requests in flight are
                # what keeps the rate ceiling busy).
                top_up()
                yield result
                del result  # held by the consumer now, not by this frame as well
        finally:
            cancel.set()
            for future in window:
                future.cancel()
            pool.shutdown(wait=True)
