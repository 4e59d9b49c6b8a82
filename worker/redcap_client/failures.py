"""Sort every way a REDCap request can fail into: retry it, report REDCap's refusal, or stop.

PyCap 2.7.0 raises ``requests.RequestException`` for nearly everything (its ``RedcapError``
is an alias), ignores the HTTP status, and loses the response. So the transport checks the
status itself (raising ``HTTPStatusFailure`` before PyCap parses the body) and this module
classifies what comes out. Reasons are short fixed phrases, safe to log: never a body.
"""

from __future__ import annotations

import csv
import html
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, ProtocolError

from worker.errors import RedcapRefused, RedcapUnreachable

BAN_MESSAGE = (
    "this machine's IP address has been banned by REDCap for sending too many requests; "
    "ask the REDCap administrator to lift the ban"
)


class FailureKind(Enum):
    RETRYABLE = "retryable"  # transient: try again after a backoff
    REFUSED = "refused"  # REDCap's own error message: trying again gives the same answer
    FATAL = "fatal"  # not transient and not REDCap's word (TLS, redirect, 404): stop


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    reason: str  # short and safe to log, e.g. "HTTP 503", "connection refused"
    error_class: str  # the exception class behind it, for logs
    detail: str | None = None  # REDCap's message (refusals, 5xx with a JSON error); not logged
    retry_after: float | None = None
    # The request surely never reached the server, so even a non-idempotent write may retry.
    surely_not_sent: bool = False
    status: int | None = None  # the HTTP status, when an answer came


class HTTPStatusFailure(Exception):
    """A non-2xx answer, raised by the transport before PyCap tries to parse the body.

    Deliberately not a ``requests.RequestException``, so it cannot be confused with PyCap's.
    """

    def __init__(
        self,
        status: int,
        *,
        redcap_message: str | None = None,
        retry_after: float | None = None,
        location: str | None = None,
        banned: bool = False,
    ) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.redcap_message = redcap_message
        self.retry_after = retry_after
        self.location = location
        self.banned = banned


class UnexpectedResponse(Exception):
    """The body parsed but is not the shape this kind of request returns."""


_XML_ERROR = re.compile(r"<error>(.*?)</error>", re.IGNORECASE | re.DOTALL)


def redcap_error_message(body: Any) -> str | None:
    """REDCap's error message from a response body in any of its error formats, else None:
    JSON ``{"error": "..."}``, CSV ``ERROR: ...``, XML ``<hash><error>...</error></hash>``."""
    if isinstance(body, dict):
        error = body.get("error")
        return None if error is None else str(error)
    if not isinstance(body, str):
        return None
    text = body.strip()
    if text.startswith("{"):
        try:
            return redcap_error_message(json.loads(text))
        except ValueError:
            return None
    if text[:6].upper() == "ERROR:":
        return text[6:].strip()
    match = _XML_ERROR.search(text)
    if match:
        return html.unescape(match.group(1)).strip()
    return None


def _status_phrase(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: requests puts urllib3's error in ``args``,
    urllib3's ``MaxRetryError`` keeps the cause in ``reason``, Python in ``__cause__``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            wrapped.append(reason)
        wrapped += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo.extend(wrapped)


def _connection_failure(exc: requests.ConnectionError) -> Failure:
    chain = list(_chain(exc))
    # urllib3 raises ConnectTimeoutError (and its subclass NewConnectionError) only while
    # opening the connection, before a byte of the request is sent.
    not_sent = isinstance(exc, requests.ConnectTimeout) or any(
        isinstance(e, ConnectTimeoutError | ConnectionRefusedError) for e in chain
    )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(e, ConnectTimeoutError) and "refused" in str(e).lower() for e in chain
    ):
        reason = "connection refused"
    elif any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        reason = "host name not found"
    elif isinstance(exc, requests.ConnectTimeout):
        reason = "connect timeout"
    elif any(
        isinstance(e, ProtocolError | ConnectionResetError | ConnectionAbortedError) for e in chain
    ):
        reason = "connection dropped"
    elif isinstance(exc, requests.exceptions.ProxyError):
        reason = "proxy error"
    else:
        reason = "connection failed"
    return Failure(FailureKind.RETRYABLE, reason, type(exc).__name__, surely_not_sent=not_sent)


def _status_failure(exc: HTTPStatusFailure) -> Failure:
    status, name = exc.status, type(exc).__name__
    phrase = _status_phrase(status)
    if exc.banned:
        return Failure(FailureKind.REFUSED, phrase, name, detail=BAN_MESSAGE, status=status)
    if 300 <= status < 400:
        where = f" to {exc.location}" if exc.location else ""
        return Failure(
            FailureKind.FATAL,
            f"{phrase}{where} (redirects are not followed, so the token is never sent "
            "elsewhere: configure the final URL)",
            name,
        )
    if status == 501:
        # REDCap answers 501 to anything but POST: a proxy or redirect changed the method.
        return Failure(FailureKind.FATAL, f"{phrase} (REDCap got a non-POST request)", name)
    if status in (408, 429) or status >= 500:
        return Failure(
            FailureKind.RETRYABLE,
            phrase,
            name,
            detail=exc.redcap_message,
            retry_after=exc.retry_after,
        )
    if exc.redcap_message is not None:
        return Failure(FailureKind.REFUSED, phrase, name, detail=exc.redcap_message, status=status)
    return Failure(
        FailureKind.FATAL, f"{phrase} without a REDCap answer (is the URL REDCap's API?)", name
    )


def classify(exc: BaseException) -> Failure | None:
    """How to handle ``exc``; None if it is not a request failure (a bug: let it propagate)."""
    name = type(exc).__name__
    if isinstance(exc, HTTPStatusFailure):
        return _status_failure(exc)
    if isinstance(exc, UnexpectedResponse):
        return Failure(FailureKind.RETRYABLE, "unexpected response", name, detail=str(exc))
    if isinstance(exc, requests.JSONDecodeError):
        # An HTML error page (PHP fatal error, proxy page) with status 200.
        return Failure(FailureKind.RETRYABLE, "unparseable response (not JSON)", name)
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(
            FailureKind.FATAL, "TLS error (certificate not trusted or handshake failed)", name
        )
    if isinstance(exc, requests.ConnectionError):  # includes ConnectTimeout and ProxyError
        return _connection_failure(exc)
    if isinstance(exc, requests.Timeout):
        return Failure(FailureKind.RETRYABLE, "read timeout", name)
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return Failure(FailureKind.RETRYABLE, "response cut off", name)
    if type(exc) is requests.RequestException:
        # PyCap's RedcapError: args[0] is the parsed body holding REDCap's error.
        message = redcap_error_message(exc.args[0]) if exc.args else None
        if message is not None:
            return Failure(FailureKind.REFUSED, "REDCap error", "RedcapError", detail=message)
        return Failure(FailureKind.RETRYABLE, "unexpected response", "RedcapError")
    if isinstance(exc, requests.RequestException):
        return Failure(FailureKind.FATAL, f"request failed ({name})", name)
    return None


def import_error_summary(message: str) -> str | None:
    """Summarise REDCap's per-value import errors without the values, or None if ``message``
    is not in that format.

    REDCap joins one line per rejected value: ``"<record>","<field>","<value>","<message>"``.
    Record names and values may be identifying, so only the count and field names are kept.
    """
    rows = list(csv.reader(line for line in message.splitlines() if line.strip()))
    if not rows or not all(len(row) == 4 for row in rows):
        return None
    fields = list(dict.fromkeys(row[1] for row in rows))
    return (
        f"{len(rows)} value(s) rejected in field(s) {', '.join(fields)} "
        "(REDCap's full message, which may contain record values, is in the exception's "
        "redcap_message attribute)"
    )


class RedcapRequestRefused(RedcapRefused):
    """REDCap answered with its own error message. ``redcap_message`` keeps it verbatim
    (line breaks included); ``str()`` is one line, and for record imports leaves out values.
    ``status`` is the HTTP status of the answer (None: an error body with status 200)."""

    def __init__(
        self, message: str, *, what: str, redcap_message: str, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.what = what
        self.redcap_message = redcap_message
        self.status = status

    @property
    def about_the_request(self) -> bool:
        """REDCap's 400: something in this request (a value, a locked record, a name) is
        wrong, and another request may well pass. Anything else (403 rights, a 429 ban)
        refuses every request alike."""
        return self.status == 400


class RedcapRequestFailed(RedcapUnreachable):
    """A request that could not be completed: retries exhausted, or a failure retrying
    cannot fix. The attributes let callers (a run ledger, an import reconciler) act on it
    without parsing the message."""

    def __init__(
        self,
        message: str,
        *,
        what: str,
        reason: str,
        error_class: str,
        attempts: int,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.what = what
        self.reason = reason  # e.g. "connection refused", "HTTP 503 Service Unavailable"
        self.error_class = error_class  # e.g. "ConnectionError", "JSONDecodeError"
        self.attempts = attempts
        # A write whose answer was lost: REDCap may have applied it.
        self.maybe_applied = maybe_applied
