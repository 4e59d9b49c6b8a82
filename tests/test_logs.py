"""Logging: one JSON pipeline for structlog and the libraries' stdlib loggers, redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from worker import logs
from worker.logs import REDACTED, REDACTOR, configure_logging, set_default_stream

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
LIBRARIES = ("urllib3", "requests", "apscheduler")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in LIBRARIES})
    stream, secrets = logs._default_stream, set(REDACTOR.secrets)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
    logs._default_stream = stream
    REDACTOR.secrets = secrets
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_library_logs_come_out_as_the_same_json_lines_as_ours() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    structlog.get_logger("worker.jobs").info("sync run", created=2)
    logging.getLogger("urllib3.connectionpool").warning("Connection pool is full")
    logging.getLogger("requests").warning("something %s", "odd")
    logging.getLogger("apscheduler.scheduler").error("Error submitting job %r", "sync")
    got = lines(out)
    assert [(e["logger"], e["level"], e["event"]) for e in got] == [
        ("worker.jobs", "info", "sync run"),
        ("urllib3.connectionpool", "warning", "Connection pool is full"),
        ("requests", "warning", "something odd"),
        ("apscheduler.scheduler", "error", "Error submitting job 'sync'"),
    ]
    assert all(e["timestamp"].endswith("Z") for e in got)
    assert got[0]["created"] == 2


def test_library_chatter_is_held_back_unless_debugging() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    logging.getLogger("apscheduler.executors.default").info('Running job "sync"')
    logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
    assert out.getvalue() == ""  # our listener logs skipped runs, with fields
    configure_logging(level="debug", stream=out)
    logging.getLogger("apscheduler.scheduler").debug("Next wakeup is due at ...")
    logging.getLogger("urllib3.connectionpool").debug("POST /api/ 200")
    assert [e["logger"] for e in lines(out)] == ["apscheduler.scheduler"]


def test_the_token_is_redacted_from_our_lines_and_the_libraries() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    REDACTOR.add("s3cret-smtp-pass")
    log = structlog.get_logger("worker.test")
    log.info("calling", token=TOKEN, payload={"api_token": "x", "smtp_password": "y"})
    log.info(f"url with {TOKEN} inside", note="login with s3cret-smtp-pass")
    logging.getLogger("urllib3.connectionpool").warning("POST body token=%s", TOKEN)
    text = out.getvalue()
    assert TOKEN not in text
    assert "s3cret-smtp-pass" not in text
    first, second, third = lines(out)
    assert first["token"] == REDACTED
    assert first["payload"] == {"api_token": REDACTED, "smtp_password": REDACTED}
    assert second["event"] == f"url with {REDACTED} inside"
    assert third["event"] == f"POST body token={REDACTED}"


def test_a_traceback_is_structured_and_carries_no_locals() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)

    def fails(secret_payload: dict) -> None:
        raise ValueError("boom")

    try:
        fails({"value": "date of birth 1990-01-01"})
    except ValueError:
        structlog.get_logger("worker.test").exception("sync failed")
    [line] = lines(out)
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "1990-01-01" not in out.getvalue()


def test_context_bound_for_a_run_is_on_every_line() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    with structlog.contextvars.bound_contextvars(run_id="r-1", job="incremental"):
        structlog.get_logger("worker.sync").info("query create")
        logging.getLogger("urllib3.connectionpool").warning("Retrying")
    assert [(e["run_id"], e["job"]) for e in lines(out)] == [("r-1", "incremental")] * 2


def test_run_switches_the_process_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info")
    structlog.get_logger("worker.test").info("to stderr")
    set_default_stream("stdout")
    configure_logging(level="info")
    structlog.get_logger("worker.test").info("to stdout")
    captured = capsys.readouterr()
    assert "to stderr" in captured.err
    assert "to stdout" in captured.out
    assert "to stdout" not in captured.err
    with pytest.raises(ValueError, match="stdout or stderr"):
        set_default_stream("syslog")  # type: ignore[arg-type]


def test_a_terminal_gets_readable_lines_not_json() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    configure_logging(level="info", stream=out)
    structlog.get_logger("worker.jobs").info("sync run", created=2)
    text = out.getvalue()
    assert "sync run" in text
    assert "created" in text
    assert not text.startswith("{")


def test_a_terminal_sees_control_characters_in_values_escaped_not_obeyed() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out, json=False)
    structlog.get_logger("worker.pipeline").warning("schedule failed", record="7\x1b[2J\u202e")
    assert "\x1b" not in out.getvalue()
    assert "\u202e" not in out.getvalue()
    assert "7\\x1b[2J\\u202e" in out.getvalue()


def test_json_lines_escape_control_characters_themselves() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    structlog.get_logger("worker.pipeline").warning("schedule failed", record="7\x1b\ud800")
    assert out.getvalue().isascii()
    assert lines(out)[0]["record"] == "7\x1b\ud800"  # lossless
