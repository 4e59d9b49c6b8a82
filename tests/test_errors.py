"""The worker's user-facing errors (worker/errors.py): each is one line, with the exit code
the CLI returns for it."""

from __future__ import annotations

import pytest

from worker.errors import (
    ConfigError,
    ExportRightsMissing,
    MappingError,
    RedcapError,
    RedcapRefused,
    RedcapUnreachable,
    StopRequested,
    SyncBusy,
    WorkerError,
    WritesInterrupted,
)


def test_a_message_is_always_one_line_with_single_spaces() -> None:
    error = ConfigError("mapping file   mapping.toml:\n  part 'x'\tnames no event\n")
    assert str(error) == "mapping file mapping.toml: part 'x' names no event"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (WorkerError, 1),
        (ConfigError, 2),
        (MappingError, 2),
        (RedcapError, 3),
        (RedcapUnreachable, 3),
        (RedcapRefused, 3),
        (ExportRightsMissing, 3),
        (WritesInterrupted, 3),
        (SyncBusy, 5),
    ],
)
def test_each_error_has_its_exit_code(error: type[WorkerError], code: int) -> None:
    assert error("x").exit_code == code


def test_an_interrupted_write_is_not_a_refusal_that_anything_retries() -> None:
    assert not issubclass(WritesInterrupted, RedcapRefused)


def test_a_stop_request_is_not_a_worker_error() -> None:
    assert not issubclass(StopRequested, WorkerError)
