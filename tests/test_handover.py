"""``prompt_handover``: a short switch interval while any block using it runs, and the one in
force before restored when the last ends."""

from __future__ import annotations

import sys
import threading

import pytest

from worker.handover import HANDOVER_S, prompt_handover


def test_the_interval_is_short_inside_and_restored_after_nested_blocks() -> None:
    before = sys.getswitchinterval()
    assert before > HANDOVER_S  # the interpreter's default, 5 ms
    with prompt_handover():
        assert sys.getswitchinterval() == pytest.approx(HANDOVER_S)
        with prompt_handover():
            assert sys.getswitchinterval() == pytest.approx(HANDOVER_S)
        assert sys.getswitchinterval() == pytest.approx(HANDOVER_S)  # the outer one still runs
    assert sys.getswitchinterval() == before


def test_blocks_on_other_threads_keep_it_short_until_the_last_ends() -> None:
    before = sys.getswitchinterval()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with prompt_handover():
            inside.set()
            assert leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with prompt_handover():
        pass
    assert sys.getswitchinterval() == pytest.approx(HANDOVER_S)  # the other thread's block
    leave.set()
    thread.join(10)
    assert sys.getswitchinterval() == before


def test_an_error_inside_still_restores_it() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(ZeroDivisionError), prompt_handover():
        raise ZeroDivisionError
    assert sys.getswitchinterval() == before


def test_a_shorter_interval_set_before_is_kept() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(HANDOVER_S / 5)
    shorter = sys.getswitchinterval()  # as the interpreter holds it (whole microseconds)
    try:
        with prompt_handover():
            assert sys.getswitchinterval() == shorter
    finally:
        sys.setswitchinterval(before)
