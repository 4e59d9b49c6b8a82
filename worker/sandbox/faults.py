"""Fault injection: what a flaky REDCap, proxy or network does to a client. Off by default.

Two sources, planned faults first:

* a queue of one-shot faults for deterministic tests, ``faults.plan("500", "drop", "html")``:
  the next requests get them in order, one each;
* random faults for demos: ``fail_rate`` (0..1) picks one of ``fail_kinds`` per request with a
  seeded RNG, and ``latency_ms`` delays every request.

Fault specs: ``"500"`` (any 4xx/5xx status; an Apache-style HTML error page), ``"429"``
(REDCap's IP ban text), ``"drop"`` (read the request, close the socket without answering; not
processed), ``"drop-after"`` (processed, then closed without answering: the lost-response
case that makes retried imports dangerous), ``"html"`` (HTTP 200 with a PHP fatal-error page,
REDCap's out-of-memory habit; not processed), ``"latency:MS"`` (answer normally after MS
milliseconds), ``"refuse"`` (HTTP 400 with a REDCap error message in the request's return
format, as REDCap answers an import touching a locked form; not processed) and ``"ok"`` (no
fault; lets a plan skip a request).

``faults.plan_imports(...)`` queues faults that only record imports consume, so a test can
target "the second write" whatever reads happen in between; ``faults.plan_batch_exports``
faults that only record exports naming their records consume (the batches of a two-stage
export, not the export of every record ID before them); ``faults.plan_content("event", ...)``
faults that only requests for that API content consume (e.g. the event export, whenever it
arrives among requests sent together).
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus

from worker.sandbox.responses import CONTENT_TYPES, Response, error_response

DEFAULT_FAIL_KINDS = ("500", "503", "429", "drop", "html")
_STATUS = re.compile(r"^[45]\d\d$")
_LATENCY = re.compile(r"^latency:(\d+)$")

PHP_FATAL_PAGE = (
    "<br />\n<b>Fatal error</b>:  Allowed memory size of 2147483648 bytes exhausted (tried to "
    "allocate 20480 bytes) in <b>/var/www/html/redcap/redcap_v15.7.6/Classes/Records.php</b> "
    "on line <b>2391</b><br />\n"
    '{"error":"REDCap ran out of server memory. The request cannot be processed. Please try '
    'importing/exporting a smaller amount of data."}'
)


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" | "drop" | "drop-after" | "html" | "refuse" | "latency" | "ok"
    status: int = 0
    latency_ms: int = 0

    @property
    def label(self) -> str:
        if self.kind == "status":
            return str(self.status)
        if self.kind == "latency":
            return f"latency:{self.latency_ms}"
        return self.kind

    @property
    def answers_instead(self) -> bool:
        """True if the request is not processed and this fault's response is sent instead."""
        return self.kind in ("status", "html", "drop", "refuse")


def parse_fault(spec: str) -> Fault:
    spec = spec.strip().lower()
    if _STATUS.match(spec):
        return Fault("status", status=int(spec))
    if match := _LATENCY.match(spec):
        return Fault("latency", latency_ms=int(match.group(1)))
    if spec in ("drop", "drop-after", "html", "refuse", "ok"):
        return Fault(spec)
    raise ValueError(
        f"unknown fault {spec!r}: use a 4xx/5xx status, 'drop', 'drop-after', 'html', "
        "'refuse', 'latency:MS' or 'ok'"
    )


REFUSAL = (
    "This field is located on a form that is locked. You must first unlock this form for "
    "this record."
)


def fault_response(
    fault: Fault, client_ip: str = "127.0.0.1", return_format: str = "json"
) -> Response:
    if fault.kind == "refuse":
        return error_response(400, REFUSAL, return_format)
    if fault.kind == "html":
        return Response(200, PHP_FATAL_PAGE.encode("utf-8"), CONTENT_TYPES["html"])
    if fault.status == 429:
        text = f"Your IP address ({client_ip}) has been banned due to suspected abuse."
        return Response(429, text.encode("utf-8"), CONTENT_TYPES["html"])
    try:
        reason = HTTPStatus(fault.status).phrase
    except ValueError:
        reason = "Error"
    page = (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        f"<title>{fault.status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n"
        "<p>The server encountered an error and was unable to complete your request.</p>\n"
        "</body></html>\n"
    )
    return Response(fault.status, page.encode("utf-8"), CONTENT_TYPES["html"])


@dataclass(frozen=True)
class Decision:
    fault: Fault | None
    delay_ms: int  # background latency plus any planned latency fault


class Faults:
    """Thread-safe source of faults; the server asks it once per request."""

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        fail_kinds: Iterable[str] = DEFAULT_FAIL_KINDS,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        # Notified whenever a planned fault is handed out, for ``wait_until_taken``.
        self._taken = threading.Condition(self._lock)
        self._planned: deque[Fault] = deque()
        self._planned_imports: deque[Fault] = deque()
        self._planned_batch_exports: deque[Fault] = deque()
        self._planned_by_content: dict[str, deque[Fault]] = {}
        self.configure(latency_ms=latency_ms, fail_rate=fail_rate, fail_kinds=fail_kinds, seed=seed)

    def configure(
        self,
        *,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        fail_kinds: Iterable[str] = DEFAULT_FAIL_KINDS,
        seed: int | None = None,
    ) -> None:
        """Set the random faults (replacing earlier settings); planned faults are kept."""
        if latency_ms < 0:
            raise ValueError("latency must be zero or more milliseconds")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail rate must be between 0 and 1")
        kinds = [parse_fault(k) for k in fail_kinds]
        if fail_rate and not kinds:
            raise ValueError("a fail rate needs at least one fail kind")
        with self._lock:
            self.latency_ms = latency_ms
            self.fail_rate = fail_rate
            self.fail_kinds = kinds
            self._rng = random.Random(seed)

    def plan(self, *specs: str) -> None:
        """Queue one-shot faults for the next requests, in order."""
        faults = [parse_fault(s) for s in specs]
        with self._lock:
            self._planned.extend(faults)

    def plan_imports(self, *specs: str) -> None:
        """Queue one-shot faults for the next record imports only, in order."""
        faults = [parse_fault(s) for s in specs]
        with self._lock:
            self._planned_imports.extend(faults)

    def plan_batch_exports(self, *specs: str) -> None:
        """Queue one-shot faults for the next record exports that name records, in order."""
        faults = [parse_fault(s) for s in specs]
        with self._lock:
            self._planned_batch_exports.extend(faults)

    def plan_content(self, content: str, *specs: str) -> None:
        """Queue one-shot faults for the next requests of this API ``content`` only."""
        faults = [parse_fault(s) for s in specs]
        with self._lock:
            self._planned_by_content.setdefault(content, deque()).extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._planned_by_content.clear()
            self._planned.clear()
            self._planned_imports.clear()
            self._planned_batch_exports.clear()

    @property
    def pending(self) -> list[str]:
        with self._lock:
            return [f.label for f in self._planned]

    def wait_until_taken(self, timeout_s: float) -> bool:
        """Block until every planned fault has been handed to a request (so a planned
        latency is holding one now); False if ``timeout_s`` passed first. Lets a caller act
        while a request is in flight without guessing how long the client takes to send it."""
        with self._taken:
            return self._taken.wait_for(lambda: not self._has_planned(), timeout=timeout_s)

    def _has_planned(self) -> bool:
        queues = [self._planned, self._planned_imports, self._planned_batch_exports]
        return any(queues) or any(self._planned_by_content.values())

    def next(
        self, *, is_import: bool = False, is_batch_export: bool = False, content: str = ""
    ) -> Decision:
        with self._lock:
            fault: Fault | None = None
            by_content = self._planned_by_content.get(content)
            if by_content:
                fault = by_content.popleft()
            elif is_import and self._planned_imports:
                fault = self._planned_imports.popleft()
            elif is_batch_export and self._planned_batch_exports:
                fault = self._planned_batch_exports.popleft()
            elif self._planned:
                fault = self._planned.popleft()
            elif self.fail_rate and self._rng.random() < self.fail_rate:
                fault = self._rng.choice(self.fail_kinds)
            delay = self.latency_ms
            if fault is not None and fault.kind == "latency":
                delay += fault.latency_ms
            if fault is not None and fault.kind == "ok":
                fault = None
            self._taken.notify_all()
            return Decision(fault, delay)
