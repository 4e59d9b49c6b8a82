"""Logging: structlog for the worker and the stdlib loggers of requests, urllib3 and
APScheduler through one pipeline, JSON lines unless the stream is a terminal, and every
known secret redacted from every line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog

from worker.text_safety import visible

REDACTED = "[REDACTED]"
_SECRET_KEYS = frozenset({"token", "password", "authorization", "smtp_password", "api_token"})
# REDCap tokens are 32 (project) or 64 (super) hex-like characters.
_TOKEN_PATTERN = re.compile(r"\b[0-9A-Fa-f]{32}(?:[0-9A-Fa-f]{32})?\b")


class LogRedactor:
    """A structlog processor masking secret keys, known secret values and token-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = {s for s in secrets if s}

    def add(self, secret: str | None) -> None:
        if secret:
            self.secrets.add(secret)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATTERN.sub(REDACTED, text)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in _SECRET_KEYS else self._clean(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        return value

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return self._clean(dict(event_dict))


REDACTOR = LogRedactor()


def _visible_values(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """For a terminal: text values with their control characters escaped (a record ID with
    an escape sequence must not drive the terminal). JSON lines escape them already; a
    traceback keeps its line breaks."""
    return {
        key: visible(value) if isinstance(value, str) and key != "exception" else value
        for key, value in event_dict.items()
    }


StreamName = Literal["stdout", "stderr"]

# Where lines go when ``configure_logging`` is not given a stream. Commands print their
# results on stdout and log on stderr; ``run`` has no results, and a container's log is its
# stdout, so it switches the whole process to stdout before anything logs.
_default_stream: StreamName = "stderr"


def set_default_stream(name: StreamName) -> None:
    """Send this process's log lines to ``sys.stdout`` or ``sys.stderr`` from now on."""
    global _default_stream
    if name not in ("stdout", "stderr"):
        raise ValueError(f"log stream must be stdout or stderr, not {name!r}")
    _default_stream = name


def default_stream() -> TextIO:
    # Looked up at each call, not bound at import: tests and embedders replace sys.stdout.
    return getattr(sys, _default_stream)


def library_levels(root_level: int) -> dict[str, int]:
    """Levels for the libraries whose stdlib logs share the pipeline.

    urllib3 and requests: WARNING at most (urllib3's DEBUG lines show every request; its
    WARNINGs, e.g. connection-pool trouble, are worth having). APScheduler: its INFO lines
    repeat at every run ("Running job", "executed successfully") and its two WARNINGs
    (missed run, maximum instances) are logged by the scheduler's own listener with
    structured fields, so only its errors pass, unless debugging the schedule itself.
    """
    return {
        "urllib3": max(logging.WARNING, root_level),
        "requests": max(logging.WARNING, root_level),
        "apscheduler": root_level if root_level <= logging.DEBUG else logging.ERROR,
    }


def configure_logging(
    *, level: str = "INFO", stream: TextIO | None = None, json: bool | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (default: see ``set_default_stream``),
    as JSON lines unless the stream is a terminal."""
    stream = stream or default_stream()
    if json is None:
        json = not stream.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Locals of a traceback could hold the token or record values: never render them.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            REDACTOR,
            *([] if json else [_visible_values]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, library_level in library_levels(root.level).items():
        logging.getLogger(name).setLevel(library_level)
