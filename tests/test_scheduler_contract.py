"""The contract with APScheduler that ``StoppableScheduler`` relies on.

``StoppableScheduler`` overrides APScheduler's private ``BlockingScheduler._main_loop`` (see
its docstring for why). A private method can change in any release, and ``pyproject.toml``
admits every 3.x from 3.11.3. These tests fail when the installed APScheduler no longer
works the way the override assumes: then re-read the library's loop and update the
override (and the pinned loop below) together.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from worker.scheduler import StoppableScheduler

# BlockingScheduler._main_loop as of APScheduler 3.11.3, the loop the override repeats.
LIBRARY_LOOP = """
def _main_loop(self):
    wait_seconds = TIMEOUT_MAX
    while self.state != STATE_STOPPED:
        self._event.wait(wait_seconds)
        self._event.clear()
        wait_seconds = self._process_jobs()
"""


def _tree(source: str) -> str:
    return ast.dump(ast.parse(textwrap.dedent(source)))


def test_the_librarys_loop_is_still_the_one_the_override_repeats() -> None:
    assert _tree(inspect.getsource(BlockingScheduler._main_loop)) == _tree(LIBRARY_LOOP)


def test_start_still_enters_the_loop_through_the_overridable_method() -> None:
    # If start() stopped calling self._main_loop(), the override would silently never run.
    start = ast.parse(textwrap.dedent(inspect.getsource(BlockingScheduler.start)))
    calls = [
        node.func.attr
        for node in ast.walk(start)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    ]
    assert calls[-1] == "_main_loop"
    # Called with no arguments, as the override takes none.
    library = inspect.signature(BlockingScheduler._main_loop).parameters
    assert list(library) == list(inspect.signature(StoppableScheduler._main_loop).parameters)


def test_what_the_override_uses_of_the_library_is_there() -> None:
    # _process_jobs runs what is due and returns how long to wait (None: no jobs).
    assert list(inspect.signature(BaseScheduler._process_jobs).parameters) == ["self"]
    assert "_event" in vars(BlockingScheduler)  # created by start(), set by shutdown/wakeup
    override = StoppableScheduler._main_loop.__code__.co_names
    library = BlockingScheduler._main_loop.__code__.co_names
    assert set(library) - {"TIMEOUT_MAX"} <= set(override)


def test_through_the_public_api_start_returns_once_a_stop_is_asked_for_while_idle() -> None:
    """With APScheduler's own loop, start() would sleep until the next job, a day away."""
    stop = threading.Event()
    ran: list[str] = []
    scheduler = StoppableScheduler(stop.is_set, timezone=UTC)
    scheduler.add_job(ran.append, "date", args=["now"], id="now")  # once, at start
    later = datetime.now(UTC) + timedelta(days=1)
    scheduler.add_job(ran.append, "date", run_date=later, args=["later"], id="later")

    def stop_once_run(event: JobExecutionEvent) -> None:
        # From the executor's thread, without waking the scheduler: as a signal handler does.
        stop.set()

    scheduler.add_listener(stop_once_run, EVENT_JOB_EXECUTED)
    started = threading.Thread(target=scheduler.start, daemon=True)
    started.start()
    started.join(timeout=60)  # a guard against hanging the suite, not a timing claim
    assert not started.is_alive(), "start() did not return after the stop request"
    assert ran == ["now"]  # jobs still run through the override; the later one never did
    scheduler.shutdown(wait=True)
    assert not scheduler.running
