"""The in-process face of the sandbox: build one from a project folder, start, query, stop.

::

    with Sandbox.from_folder("demo/my_study", data="demo", as_of=date(2026, 11, 26)) as sb:
        project = redcap.Project(sb.url, sb.token)
        ...
        assert not sb.request_log.imports()
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from worker.errors import ConfigError
from worker.sandbox.access import Access
from worker.sandbox.api import Api, Hold
from worker.sandbox.clock import Clock, SystemClock
from worker.sandbox.export import ExportOptions, build_rows
from worker.sandbox.faults import DEFAULT_FAIL_KINDS, Faults
from worker.sandbox.importing import ImportOptions, as_text, plan_import
from worker.sandbox.project import ProjectDef
from worker.sandbox.reqlog import RequestEntry, RequestLog
from worker.sandbox.seed import SeedData, initial_rows, load_rows
from worker.sandbox.server import API_PATH, HOST, SandboxHTTPServer
from worker.sandbox.source import open_project
from worker.sandbox.store import Store

# The sandbox's well-known demo token: 32 characters like a real REDCap token, printed by
# `python -m worker sandbox` and safe to put in demo configs. It opens nothing but a sandbox.
DEMO_TOKEN = "DEMOSANDBOXTOKEN0123456789ABCDEF"
_TOKEN = re.compile(r"^[A-Za-z0-9]{32}$")


def check_token(token: str) -> str:
    if not _TOKEN.match(token):
        raise ConfigError("a sandbox token must be 32 letters and digits, like REDCap's")
    return token


class Sandbox:
    """A REDCap stand-in serving one project on ``http://127.0.0.1:PORT/api/``."""

    def __init__(
        self,
        project: ProjectDef,
        store: Store,
        *,
        token: str = DEMO_TOKEN,
        port: int = 0,
        faults: Faults | None = None,
        on_request: Callable[[RequestEntry], None] | None = None,
        access: Access | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"port {port} is not between 0 and 65535")
        self.project = project
        self.store = store
        self.token = check_token(token)
        self.faults = faults or Faults()
        # The token user's export rights, locked records, and changes planned between
        # requests (worker.sandbox.access).
        self.access = access or Access(project)
        self.request_log = RequestLog()
        self.restored = False  # True when the data came from an existing state file
        self._port = port
        self._on_request = on_request
        self._server: SandboxHTTPServer | None = None
        self._holds: list[Hold] = []

    @classmethod
    def from_folder(
        cls,
        project_dir: str | Path,
        data: SeedData | None = None,
        as_of: date | None = None,
        participants: int | None = None,
        token: str = DEMO_TOKEN,
        state_file: str | Path | None = None,
        port: int = 0,
        *,
        clock: Clock | None = None,
        reset: bool = False,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        fail_kinds: Iterable[str] = DEFAULT_FAIL_KINDS,
        seed: int | None = None,
        username: str = "sandbox_api",
        on_request: Callable[[RequestEntry], None] | None = None,
        export_rights: Mapping[str, str] | None = None,
        locked_records: Iterable[str] = (),
        delete_after: Iterable[tuple[int, str]] = (),
    ) -> Sandbox:
        """Load the project and its starting data (not yet serving: call :meth:`start`).

        ``project_dir`` is a folder of API exports, a REDCap project XML file or a data
        dictionary CSV. ``data`` defaults to the project's own: a folder's ``demo_data.py``, an
        XML file's ClinicalData, none for a dictionary. With a ``state_file`` that exists (and
        no ``reset``), the data come from it and ``data`` is ignored, so a restarted demo keeps
        every change made through the API.

        ``export_rights`` maps forms to the token user's data export right (``full``,
        ``remove_identifiers``, ``deidentified``, ``none``); ``locked_records`` are refused on
        import; ``delete_after`` pairs (N, record) delete the record after the Nth request.
        """
        check_token(token)
        if participants is not None and participants < 0:
            raise ConfigError("participants must be zero or more")
        source = open_project(project_dir)
        project = source.project
        store = Store(project, clock or SystemClock(), state_file, username)
        try:
            faults = Faults(
                latency_ms=latency_ms, fail_rate=fail_rate, fail_kinds=fail_kinds, seed=seed
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        try:
            access = Access(project, export_rights=export_rights, locked=locked_records)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        sandbox = cls(
            project,
            store,
            token=token,
            port=port,
            faults=faults,
            on_request=on_request,
            access=access,
        )
        for count, record in delete_after:
            sandbox.delete_record_after(count, record)
        if store.state_file is not None and store.state_file.exists() and not reset:
            store.load()
            sandbox.restored = True
        else:
            if data is None:
                data = (source.rows or []) if source.is_file else "demo"
            elif data == "demo" and source.is_file:
                raise ConfigError(
                    "demo data come from a project folder's demo_data.py; a project file "
                    "starts from its own data, 'empty' or a JSON file of rows"
                )
            load_rows(project, store, initial_rows(project.folder, data, as_of, participants))
            store.save()
        return sandbox

    from_project = from_folder  # the same, named for a project file

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        try:
            api = Api(self.project, self.store, self.token, self.access)
            api.holds = self._holds
            server = SandboxHTTPServer(
                self._port,
                api,
                self.faults,
                self.request_log,
                self.store.clock,
                self._on_request,
            )
        except OSError as exc:
            raise ConfigError(f"cannot listen on {HOST}:{self._port}: {exc.strerror}") from exc
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not serving; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{API_PATH}"

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Sandbox {self.project.info.get('project_title', '')!r} {where}>"

    # -- data, in-process ------------------------------------------------------------------

    def rows(self, records: Sequence[str] | None = None, **options: Any) -> list[dict[str, Any]]:
        """The current data as flat export rows (all columns, raw), like a full API export.

        Keyword options are :class:`ExportOptions` fields (``fields``, ``forms``, ``events``...).
        """
        _, rows = build_rows(self.project, self.store, ExportOptions(records=records, **options))
        return rows

    def import_rows(
        self, rows: Sequence[Mapping[str, Any]], *, overwrite: bool = False
    ) -> list[str]:
        """Import as the API would (same validation, raises ApiError); returns changed records.

        Not logged in the request log: it stands for a change made in REDCap's own UI.
        """
        text_rows = [{str(k): as_text(v) for k, v in r.items()} for r in rows]
        options = ImportOptions(overwrite=overwrite)
        with self.store.lock:
            result = plan_import(self.project, self.store, text_rows, options)
            return self.store.apply(result.plan, overwrite=overwrite)

    def delete_record_after(self, requests: int, record: str) -> None:
        """Delete ``record`` (as REDCap's UI would) once ``requests`` more requests have been
        answered: the record deleted between a client's export and its write."""

        def delete() -> None:
            with self.store.lock:
                if record in self.store:
                    self.store.delete([record])

        self.access.after_requests(requests, delete)

    def load_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Bulk-load rows like seed data: layout checked, values not validated."""
        text_rows = [{str(k): as_text(v) for k, v in r.items()} for r in rows]
        return load_rows(self.project, self.store, text_rows)

    # -- the Data Quality API module and the DRW ---------------------------------------------

    def drw_module(self, enabled: bool = True, *, drw: bool = True) -> Sandbox:
        """Switch the Data Quality API module on the project on or off (project info lists
        it when on), and the project's Data Resolution Workflow (off: imports get 403)."""
        with self.store.lock:
            self.store.drw.module_enabled = enabled
            self.store.drw.drw_enabled = drw
            self.store.save()
        return self

    def hold_next_drw_import(self) -> Hold:
        """The next module import waits, after it arrived and before it is processed,
        until ``hold.release`` is set (``hold.arrived``, ``hold.done`` tell the test)."""
        hold = Hold()
        self._holds.append(hold)
        return hold

    def drw_statuses(self) -> list[dict[str, Any]]:
        """Every DRW status with its resolutions (oldest first), as stored."""
        with self.store.lock:
            return json.loads(json.dumps(list(self.store.drw.statuses.values())))

    def drw_resolve(
        self,
        record: str,
        event: str | None,
        field: str,
        *,
        username: str,
        instance: int = 1,
        comment: str = "",
        response: str | None = None,
        status: str | None = None,
    ) -> int:
        """What a person does on REDCap's Resolve Issues page: add a resolution (a response
        such as ``CONFIRMED_CORRECT``, a comment, a close) to the field's DRW status,
        stamped now; the status takes its ``status``. Not logged: it stands for the UI."""
        project = self.project
        event_id = (
            project.event_by_name[event].event_id
            if event
            else ([e.event_id for e in project.events] or [1])[0]
        )
        with self.store.lock:
            data = self.store.drw
            status_id = data.find(record, event_id, field, instance)
            if status_id is None:
                status_id = data.new_status(record, event_id, field, instance, None)
            ts = max(
                [self.store.now().strftime("%Y-%m-%d %H:%M:%S")]
                + [r["ts"] for r in data.statuses[status_id]["resolutions"]]
            )
            res_id = data.add_resolution(
                status_id,
                ts=_one_second_after(ts, data.statuses[status_id]["resolutions"]),
                username=username,
                comment=comment,
                response=response,
                current_query_status=status,
            )
            if status is not None:
                data.statuses[status_id]["query_status"] = status
            self.store.save()
            return res_id


def _one_second_after(ts: str, resolutions: list[dict[str, Any]]) -> str:
    """``ts``, or a second after it when a resolution already holds it (UI clicks are
    seconds apart; tests are faster)."""
    taken = {r["ts"] for r in resolutions}
    moment = datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
    while moment.strftime("%Y-%m-%d %H:%M:%S") in taken:
        moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
