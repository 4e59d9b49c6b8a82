"""The API proper, without HTTP: one POST body in, one REDCap answer out.

Checks run in REDCap's order (docs/redcap-api-behaviour.md §1.2): token, JSON payload,
content, then the method's own checks. Each call also returns the facts the request log
keeps about it.
"""

from __future__ import annotations

import hmac
import re
import sys
import traceback
from typing import Any

from worker.sandbox import handlers
from worker.sandbox.access import Access
from worker.sandbox.context import Context
from worker.sandbox.errors import NO_PERMISSION, ApiError
from worker.sandbox.importing import decode_json_rows
from worker.sandbox.params import Params
from worker.sandbox.project import ProjectDef
from worker.sandbox.responses import Response, error_response
from worker.sandbox.store import Store

_TOKEN = re.compile(r"^[A-Za-z0-9]+$")


def describe(params: Params) -> dict[str, Any]:
    """What the request log records about a request before (or without) running it."""
    action = handlers.resolve_action(params)
    return {
        "content": params.content,
        "action": action,
        "format": params.get("format"),
        "return_format": params.return_format,
        "is_import": action == "import",
        "params": params.redacted(),
    }


class Api:
    def __init__(
        self, project: ProjectDef, store: Store, token: str, access: Access | None = None
    ) -> None:
        self.project = project
        self.store = store
        self.access = access or Access(project)
        self._token = token

    def _token_ok(self, token: str) -> bool:
        return bool(_TOKEN.match(token)) and hmac.compare_digest(token, self._token)

    def handle(self, body: bytes) -> tuple[Response, dict[str, Any]]:
        params = Params.parse(body)
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
