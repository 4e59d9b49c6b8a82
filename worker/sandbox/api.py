"""The API proper, without HTTP: one POST body in, one REDCap answer out.

Checks run in REDCap's order (docs/redcap-api-behaviour.md §1.2): token, JSON payload,
content, then the method's own checks. Each call also returns the facts the request log
keeps about it.
"""

from __future__ import annotations

import hmac
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from worker.sandbox import drw as module_drw
from worker.sandbox import handlers
from worker.sandbox.access import Access
from worker.sandbox.context import Context
from worker.sandbox.errors import NO_PERMISSION, ApiError
from worker.sandbox.importing import decode_json_rows
from worker.sandbox.params import RequestParams
from worker.sandbox.project import ProjectDef
from worker.sandbox.responses import Response, error_response, json_response
from worker.sandbox.store import Store

_TOKEN = re.compile(r"^[A-Za-z0-9]+$")


def describe(params: RequestParams) -> dict[str, Any]:
    """What the request log records about a request before (or without) running it."""
    action = handlers.resolve_action(params)
    return {
        "content": params.content,
        "action": action,
        "format": params.get("format"),
        "return_format": params.return_format,
        "is_import": action == "import",
        "params": params.redacted(),
        "records_requested": _asked_records(params, action),
    }


def _asked_records(params: RequestParams, action: str) -> tuple[str, ...] | None:
    """The records a record export names (None: all, or not a record export)."""
    if params.content != "record" or action != "export":
        return None
    records = params.list("records")
    return tuple(records) if records else None


@dataclass
class Hold:
    """Holds one module import between its arrival and its processing, so a test can act
    (kill the client, run another) while it is in flight; ``release`` lets it go on."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class Api:
    def __init__(
        self, project: ProjectDef, store: Store, token: str, access: Access | None = None
    ) -> None:
        self.project = project
        self.store = store
        self.access = access or Access(project)
        self._token = token
        self.holds: list[Hold] = []  # shared with the Sandbox: one per coming module import

    def _token_ok(self, token: str) -> bool:
        return bool(_TOKEN.match(token)) and hmac.compare_digest(token, self._token)

    def handle_module(self, query: str, body: bytes) -> tuple[Response, dict[str, Any]]:
        """An external module's API page (``?prefix=..&page=..&type=module&NOAUTH&pid=..``):
        the sandbox knows the Data Quality API module's two."""
        get = RequestParams.parse(query.encode())
        params = RequestParams.parse(body)
        prefix, page = get.get("prefix"), get.get("page")
        is_import = page == "import"
        facts: dict[str, Any] = {
            "content": f"module:{prefix}",
            "action": "import" if is_import else "export",
            "format": params.get("format"),
            "return_format": params.return_format,
            "is_import": is_import,
            "params": params.redacted() | {"page": page},
        }
        drw = self.store.drw
        hold: Hold | None = None
        try:
            if not self._token_ok(params.get("token")):
                raise ApiError(403, NO_PERMISSION)
            pid = str(self.project.info.get("project_id", 1))
            if prefix != drw.prefix or not drw.module_enabled:
                raise ApiError(403, f"The module '{prefix}' is not enabled on project {pid}.")
            if page not in ("export", "import"):
                raise ApiError(404, f"The module '{prefix}' has no page '{page}'.")
            if get.get("pid") != pid:
                return Response(200, b"", "text/html; charset=UTF-8"), facts  # PHP die()
            if is_import and self.holds:
                hold = self.holds.pop(0)
            if hold is not None:
                hold.arrived.set()
                hold.release.wait(120)
            with self.store.lock:
                if is_import:
                    answer: Any = module_drw.import_page(self.project, drw, params)
                    facts["rows_returned"] = len(answer)
                    self.store.save()
                else:
                    answer = module_drw.export_page(self.project, drw, params)
                    facts["rows_returned"] = len(answer)
            response = json_response(answer)
        except ApiError as exc:
            facts["error"] = exc.message
            response = error_response(exc.status, exc.message, params.return_format)
        if hold is not None:
            hold.done.set()
        return response, facts

    def handle(
        self, body: bytes, params: RequestParams | None = None
    ) -> tuple[Response, dict[str, Any]]:
        """``params``: the body already parsed (the server reads them first to plan faults;
        an import's body is hundreds of kilobytes of percent-escapes)."""
        params = params if params is not None else RequestParams.parse(body)
        facts = describe(params)
        ctx = Context(self.project, self.store, params, self.access, facts=facts)
        try:
            if not self._token_ok(params.get("token")):
                raise ApiError(403, NO_PERMISSION)
            if params.has("data") and params.format() == "json":
                ctx.rows = decode_json_rows(params.get("data"))
            response = handlers.dispatch(ctx)
        except ApiError as exc:
            facts["error"] = exc.message
            response = error_response(exc.status, exc.message, params.return_format)
        except Exception as exc:  # a sandbox bug: answer like a crashed PHP page would, loudly
            traceback.print_exc(file=sys.stderr)
            message = f"REDCap sandbox internal error: {type(exc).__name__}: {exc}"
            facts["error"] = message
            response = error_response(500, message, params.return_format)
        return response, facts
