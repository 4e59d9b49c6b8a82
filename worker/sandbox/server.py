"""HTTP on loopback: ``POST <base>/api/`` in, REDCap's answers out, faults and logging between.

Stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive (PyCap shares one
``requests.Session``). Open connections are tracked so :meth:`SandboxHTTPServer.stop` can cut
idle keep-alive sockets instead of leaving handler threads parked on them.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from worker.handover import prompt_handover
from worker.sandbox.api import Api, describe
from worker.sandbox.clock import Clock
from worker.sandbox.faults import Faults, fault_response
from worker.sandbox.params import RequestParams
from worker.sandbox.reqlog import RequestEntry, RequestLog
from worker.sandbox.responses import CONTENT_TYPES, Response

HOST = "127.0.0.1"  # never anything else: the sandbox is for this machine only
API_PATH = "/api/"
NOT_IMPLEMENTED = "The requested method is not implemented."
NOT_FOUND = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found'
    "</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this "
    "server.</p>\n</body></html>\n"
)
_ENTRY_FIELDS = {f.name for f in fields(RequestEntry)}


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        api: Api,
        faults: Faults,
        request_log: RequestLog,
        clock: Clock,
        on_request: Callable[[RequestEntry], None] | None = None,
    ) -> None:
        self.api = api
        self.faults = faults
        self.request_log = request_log
        self.clock = clock
        self.on_request = on_request
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((HOST, port), _Handler)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._serve,
            name=f"redcap-sandbox-{self.server_address[1]}",
            daemon=True,
        )
        self._thread.start()

    def _serve(self) -> None:
        # A handler thread stamps a request's arrival once it holds the interpreter, which
        # others hold while they build answers: handed over promptly, the stamp is within a
        # few ms of the arrival, as a real server's is (see worker.handover).
        with prompt_handover():
            self.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self.stopping.set()  # wakes handlers waiting out an injected latency
        self.shutdown()
        with self._conn_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is normal under fault tests; anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)

    # -- request log -----------------------------------------------------------------------

    def record(
        self,
        method: str,
        path: str,
        status: int | None,
        fault: str | None,
        facts: dict[str, Any],
        received: float | None = None,
    ) -> None:
        known = {k: v for k, v in facts.items() if k in _ENTRY_FIELDS}
        entry = RequestEntry(
            at=self.clock.now(),
            method=method,
            path=path,
            status=status,
            fault=fault,
            received=received,
            answered=time.time(),
            **known,
        )
        entry = self.request_log.append(entry)
        if self.on_request is not None:
            self.on_request(entry)
        self.api.access.request_done()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    timeout = 120  # idle keep-alive connections do not pin a thread forever
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to each.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, and the CLI prints from it."""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the socket without a byte of answer, as a crashed proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _not_implemented(self) -> None:
        received = time.time()
        self._read_body()
        # Logged before answering: once a client has its answer, the log already shows it.
        self.server.record(self.command, self._path(), 501, None, {}, received)
        self._send(Response(501, NOT_IMPLEMENTED.encode(), CONTENT_TYPES["html"]))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_implemented

    def do_POST(self) -> None:
        received = time.time()
        server = self.server
        body = self._read_body()
        path = self._path()
        if not path.endswith(API_PATH):
            server.record("POST", path, 404, None, {}, received)
            self._send(Response(404, NOT_FOUND.encode(), CONTENT_TYPES["html"]))
            return
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        module = "type=module" in query.split("&")
        is_batch_export = False
        content = ""
        params: RequestParams | None = None
        if module:
            is_import = "page=import" in query.split("&")
        else:
            params = RequestParams.parse(body)
            asked = describe(params)
            is_import = asked["is_import"]
            content = str(asked["content"])
            is_batch_export = (
                asked["content"] == "record"
                and asked["action"] == "export"
                and bool(params.list("records"))
            )
        decision = server.faults.next(
            is_import=is_import, is_batch_export=is_batch_export, content=content
        )
        if decision.delay_ms:
            server.stopping.wait(decision.delay_ms / 1000)
        fault = decision.fault
        label = fault.label if fault is not None else None
        response: Response | None
        if fault is not None and fault.answers_instead:
            facts = describe(RequestParams.parse(body))
            if module:  # a module page: logged as one, whatever the fault
                prefix = RequestParams.parse(query.encode()).get("prefix")
                action = "import" if is_import else "export"
                facts |= {"content": f"module:{prefix}", "action": action}
                facts["is_import"] = is_import
            response = (
                None
                if fault.kind == "drop"
                else fault_response(fault, self.client_address[0], facts["return_format"] or "xml")
            )
        else:
            if module:
                response, facts = server.api.handle_module(query, body)
            else:
                response, facts = server.api.handle(body, params)
            if fault is not None and fault.kind == "drop-after":
                response = None
        # Logged before answering: once a client has its answer, the log already shows it.
        server.record("POST", path, response.status if response else None, label, facts, received)
        if response is None:
            self._drop()
        else:
            self._send(response)
