"""The one place every REDCap request goes through: rate limit, timeout, status check,
retry with backoff, and redaction of what escapes.

``RetryingProject`` is PyCap's ``Project`` with ``_call_api`` routed to ``Transport.call``,
so PyCap keeps building payloads and parsing answers while we own the HTTP behaviour.
This relies on PyCap 2.7.0 internals (``Base._call_api``, ``_RCRequest(session=...)``,
``_ContentConfig``); ``tests/redcap_client/test_pycap_contract.py`` fails loudly if they change.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version as package_version
from typing import Any
from urllib.parse import urljoin

import requests
import structlog
from redcap.project import Project
from redcap.request import _ContentConfig, _RCRequest
from requests.adapters import HTTPAdapter

from worker import __version__
from worker.errors import StopRequested
from worker.redcap_client.concurrency import Abandoned, is_abandoned, may_be_abandoned
from worker.redcap_client.failures import (
    Failure,
    FailureKind,
    HTTPStatusFailure,
    RedcapRequestFailed,
    RedcapRequestRefused,
    classify,
    import_error_summary,
    redcap_error_message,
)
from worker.redcap_client.policy import RetryPolicy, parse_retry_after
from worker.redcap_client.ratelimit import RateLimiter
from worker.redcap_client.redact import Redactor, display_url, one_line
from worker.redcap_client.shapes import check_shape
from worker.stopping import wait_unless_stopped

log = structlog.get_logger(__name__)

Timeout = tuple[float, float]

# The level of the per-attempt "retrying" line. A scheduler that already reported an outage
# turns it down for its next runs, so a REDCap that stays down is not re-announced at every
# retry of every run; a context variable, because runs happen on the scheduler's thread.
_retry_log_level: ContextVar[int] = ContextVar("retry_log_level", default=logging.WARNING)


@contextmanager
def retry_log_level(level: int) -> Iterator[None]:
    """Log retries at ``level`` (e.g. ``logging.DEBUG``) inside the block, in this context."""
    token = _retry_log_level.set(level)
    try:
        yield
    finally:
        _retry_log_level.reset(token)


_WHAT = {
    "version": "read the REDCap version",
    "project": "export project info",
    "metadata": "export the data dictionary",
    "instrument": "export instruments",
    "event": "export events",
    "arm": "export arms",
    "formEventMapping": "export the form-event mapping",
    "repeatingFormsEvents": "export the repeating instruments and events",
    "exportFieldNames": "export field names",
}
_READ_ACTIONS = (None, "export", "list")


def describe(payload: dict[str, Any]) -> str:
    """What a request does, as a verb phrase for messages ("export records")."""
    content = str(payload.get("content", "?"))
    action = payload.get("action")
    if content == "record":
        if action == "delete":
            return "delete records"
        return "import records" if "data" in payload else "export records"
    if "data" in payload:
        return f"import {content}"
    return _WHAT.get(content, f"{action or 'export'} {content}")


def is_write(payload: dict[str, Any], file: object | None = None) -> bool:
    return file is not None or "data" in payload or payload.get("action") not in _READ_ACTIONS


class _PacedAdapter(HTTPAdapter):
    """An adapter that calls ``before_send`` (the rate limiter) as late as requests allows:
    after the request is prepared (body encoded, proxies and .netrc looked up), just before
    its connection sends it. What the limiter spaces is the time it hands out a slot; the
    server spaces what it receives. Every step between the two waits for the interpreter
    while another thread checks a batch, so the fewer of them, the closer the two spacings
    (see ``ratelimit.JITTER_MARGIN_S``)."""

    def __init__(self, before_send: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._before_send = before_send

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self._before_send()
        return super().send(request, *args, **kwargs)


def new_session(before_send: Callable[[], None]) -> requests.Session:
    """A session of our own: PyCap's module-level one is shared by every Project in the
    process. urllib3 retries stay off (``max_retries=0``) because we retry above it, where we
    also see unparseable 200 answers and go through the rate limiter (``before_send``, called
    once per request: redirects are never followed)."""
    session = requests.Session()
    adapter = _PacedAdapter(before_send, pool_connections=1, pool_maxsize=4, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = (
        f"redcap-dq-worker/{__version__} PyCap/{package_version('pycap')}"
    )
    return session


class _Sessions:
    """The sessions requests go out on: one request at a time on each, at most ``size``
    requests at once, sessions made as they are first needed (so at most ``size``), each
    calling ``before_send`` just before it sends a request."""

    def __init__(self, size: int, before_send: Callable[[], None]) -> None:
        self._before_send = before_send
        self._idle = [new_session(before_send)]
        self._all = list(self._idle)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def one(self) -> Iterator[requests.Session]:
        with self._slots:
            with self._lock:
                session = self._idle.pop() if self._idle else self._made()
            try:
                yield session
            finally:
                with self._lock:
                    self._idle.append(session)

    def _made(self) -> requests.Session:
        session = new_session(self._before_send)
        self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions = list(self._all)
        for session in sessions:
            session.close()


class _CheckedHTTP:
    """Stands in for the ``requests.Session`` PyCap posts through (``_RCRequest`` uses only
    ``post``): waits for a free session (the bound on requests in flight; its adapter then
    waits for the rate limiter and counts the request) and raises ``HTTPStatusFailure`` for
    non-2xx answers, whose status PyCap would otherwise ignore."""

    def __init__(self, sessions: _Sessions) -> None:
        self._sessions = sessions

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        # The session first: a rate slot reserved while waiting for one would start late.
        with self._sessions.one() as session:
            response = session.post(url, **kwargs)
        status = response.status_code
        if 200 <= status < 300:
            return response
        text = response.text
        location = response.headers.get("Location")
        raise HTTPStatusFailure(
            status,
            redcap_message=redcap_error_message(text),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            location=display_url(urljoin(url, location)) if location else None,
            banned=status == 429 and "banned" in text.lower(),
        )


class Transport:
    """Sends PyCap payloads with timeout, rate limit and bounded retries.

    At most ``max_in_flight`` requests are under way at once, whatever the number of threads
    sending, each on a ``requests.Session`` no other request uses meanwhile (a session is not
    documented as safe to share between threads), all of them under the one rate limiter.

    Reads are retried on every transient failure. Writes are not idempotent in general, so
    unless the caller says ``idempotent=True`` they are retried only when the request surely
    never reached REDCap (the connection could not be opened). File uploads are never retried
    (the file object has been consumed).
    """

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout: Timeout,
        verify_ssl: bool | str,
        policy: RetryPolicy,
        limiter: RateLimiter,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        should_stop: Callable[[], bool] | None = None,
        max_in_flight: int = 1,
    ) -> None:
        self.url = url
        self.shown_url = display_url(url)
        self.timeout = timeout
        self.verify_ssl = verify_ssl
        self.policy = policy
        self._redactor = Redactor(token)
        self._sleep = sleep
        self._rng = rng
        self._should_stop = should_stop
        self._count_lock = threading.Lock()
        self._requests = 0
        self._limiter = limiter
        self._sessions = _Sessions(max_in_flight, self._before_send)
        self._http = _CheckedHTTP(self._sessions)

    def close(self) -> None:
        self._sessions.close()

    def _before_send(self) -> None:
        self._limiter.acquire()
        with self._count_lock:
            self._requests += 1

    @property
    def requests_made(self) -> int:
        return self._requests

    def __repr__(self) -> str:
        return f"Transport(url={self.shown_url!r})"

    def call(
        self,
        payload: dict[str, Any],
        return_type: str,
        *,
        file: Any = None,
        idempotent: bool = False,
        url: str | None = None,
        what: str | None = None,
        write: bool | None = None,
        shape: Callable[[Any], None] | None = None,
        attempts: int | None = None,
    ) -> Any:
        """POST ``payload`` and return PyCap's parsed answer, retrying per the policy.

        ``url`` (the API URL with a module page's query string), ``what``, ``write`` and
        ``shape`` (raises ``UnexpectedResponse``) serve requests that are not REDCap's own
        API methods, such as an external module's API pages. ``attempts`` overrides the
        policy's, for a request whose caller has another way to the same answer."""
        what = what or describe(payload)
        write = is_write(payload, file) if write is None else write
        config = _ContentConfig(
            return_empty_json=return_type == "empty_json",
            return_bytes=return_type == "file_map",
        )
        attempts = self.policy.attempts if attempts is None else attempts
        for attempt in range(1, attempts + 1):
            self._raise_if_stopped(what)
            failure: Failure | None = None
            unknown: BaseException | None = None
            try:
                request = _RCRequest(
                    url=url or self.url, payload=payload, config=config, session=self._http
                )
                result = request.execute(
                    verify_ssl=self.verify_ssl,
                    return_headers=return_type == "file_map",
                    file=file,
                    timeout=self.timeout,
                    # A redirected POST comes back as GET (REDCap: 501) or, for 307/308,
                    # re-sends the token to wherever the Location points: never follow.
                    allow_redirects=False,
                )
                if shape is None:
                    check_shape(payload, return_type, result)
                else:
                    shape(result)
                return result
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    unknown = exc
            # Raising here, outside the except block, leaves __context__ empty: the original
            # exception (a body, a payload) never travels with ours.
            if unknown is not None:
                raise self._unknown(unknown)
            assert failure is not None
            if failure.kind is FailureKind.REFUSED:
                raise self._refused(what, payload, failure)
            if write and file is not None:
                may_retry = False
            elif write and not idempotent:
                may_retry = failure.surely_not_sent
            else:
                may_retry = True
            if failure.kind is not FailureKind.RETRYABLE or attempt == attempts or not may_retry:
                raise self._gave_up(what, failure, attempt, maybe_applied=write and not may_retry)
            delay = self.policy.delay(attempt, retry_after=failure.retry_after, rng=self._rng)
            log.log(
                _retry_log_level.get(),
                "redcap request failed, retrying",
                what=what,
                attempt=attempt,
                attempts=attempts,
                reason=failure.reason,
                error=failure.error_class,
                retry_in_s=round(delay, 3),
                url=self.shown_url,
            )
            if self._should_stop is None and not may_be_abandoned():
                self._sleep(delay)
            else:  # cut short by a stop or a task given up: the next attempt's check raises
                wait_unless_stopped(delay, self._stopped_or_abandoned, self._sleep)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises

    def _stopped_or_abandoned(self) -> bool:
        return (self._should_stop is not None and self._should_stop()) or is_abandoned()

    def _raise_if_stopped(self, what: str) -> None:
        """No attempt starts once a stop was asked for: the caller's safe point is the end of
        the request in flight, not of every retry after it (a stop waits at most for one
        request's timeouts). Nor once the concurrent task it serves was given up."""
        if self._should_stop is not None and self._should_stop():
            raise StopRequested(f"stopped before the request to {what}")
        if is_abandoned():
            raise Abandoned(f"gave up the request to {what}")

    def _refused(
        self, what: str, payload: dict[str, Any], failure: Failure
    ) -> RedcapRequestRefused:
        message = self._redactor.redact(failure.detail or failure.reason)
        shown = message
        if payload.get("content") == "record" and "data" in payload:
            shown = import_error_summary(message) or message
        return RedcapRequestRefused(
            f"REDCap refused to {what}: {one_line(shown)}",
            what=what,
            redcap_message=message,
            status=failure.status,
        )

    def _gave_up(
        self, what: str, failure: Failure, attempt: int, *, maybe_applied: bool
    ) -> RedcapRequestFailed:
        reason = failure.reason + (f": {one_line(failure.detail, 300)}" if failure.detail else "")
        reason = self._redactor.redact(reason)
        maybe_applied = maybe_applied and failure.kind is FailureKind.RETRYABLE
        if maybe_applied:
            message = (
                f"REDCap at {self.shown_url} did not confirm the request to {what}: {reason}; "
                "it may have been applied, so it was not retried"
            )
        else:
            plural = "" if attempt == 1 else "s"
            message = (
                f"cannot reach REDCap at {self.shown_url}: {reason} ({attempt} attempt{plural} "
                f"to {what})"
            )
        return RedcapRequestFailed(
            message,
            what=what,
            reason=failure.reason,
            error_class=failure.error_class,
            attempts=attempt,
            maybe_applied=maybe_applied,
        )

    def _unknown(self, exc: BaseException) -> BaseException:
        """A non-request error (a bug, or a PyCap change): pass it on unless its text holds
        the token, in which case only a redacted copy leaves."""
        text = str(exc)
        redacted = self._redactor.redact(text)
        if redacted == text:
            return exc
        return RuntimeError(f"{type(exc).__name__}: {redacted}")


class RetryingProject(Project):
    """PyCap's Project with every API call sent through a ``Transport``."""

    def __init__(
        self, url: str, token: str, *, transport: Transport, verify_ssl: bool | str = True
    ) -> None:
        super().__init__(url, token, verify_ssl=verify_ssl)
        self._transport = transport

    def _call_api(self, payload: dict[str, Any], return_type: Any, file: Any = None) -> Any:
        return self._transport.call(payload, return_type, file=file)

    def know_record_id_field(self, name: str | None) -> None:
        """Tell PyCap the record-ID field (which it otherwise reads from the data
        dictionary, with a request, before the first record export); None: forget it."""
        self._def_field = name
        self._metadata = self._forms = self._field_names = None

    def call(self, payload: dict[str, Any], return_type: str, *, idempotent: bool) -> Any:
        """Like ``_call_api``, for writes whose caller knows whether they are idempotent."""
        return self._transport.call(payload, return_type, idempotent=idempotent)

    def __repr__(self) -> str:
        return f"RetryingProject(url={self._transport.shown_url!r})"
