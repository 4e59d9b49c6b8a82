"""``RedcapClient``: the worker's only way to talk to REDCap.

Reads the project's structure into a ``ProjectSchema`` and exports records the way REDCapR
does (record IDs first, then whole records in batches), through a ``Transport`` that adds
timeouts, a request-rate ceiling and bounded retries to every call PyCap makes.
"""

from __future__ import annotations

import contextvars
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any, Literal, TypeVar, overload
from urllib.parse import quote, urlencode, urlsplit

import structlog
from pydantic import SecretStr

from worker.core.schema import ProjectSchema, form_labels_of
from worker.errors import ConfigError, RedcapRefused, RedcapUnreachable
from worker.handover import prompt_handover
from worker.loopback import is_loopback
from worker.redcap_client.concurrency import Abandoned, in_order, on_its_own
from worker.redcap_client.credentials import check_token, check_url
from worker.redcap_client.failures import RedcapRequestRefused
from worker.redcap_client.policy import RetryPolicy
from worker.redcap_client.project_xml import ProjectXml, UnreadableProjectXml, read_project_xml
from worker.redcap_client.ratelimit import RateLimiter
from worker.redcap_client.record_ids import (
    UNDECODABLE,
    batched,
    ids_of_csv,
    rows_of_csv,
    sort_record_ids,
    unique,
)
from worker.redcap_client.redact import Redactor
from worker.redcap_client.transport import RetryingProject, Timeout, Transport
from worker.text_safety import has_surrogates, visible

log = structlog.get_logger(__name__)

T = TypeVar("T")

Row = dict[str, Any]
ProgressCallback = Callable[[int, int], None]

# REDCap's answer when the token's user lacks the design right (api_227) for this export.
_DESIGN_RIGHTS_HINT = "privileges"
_NO_REPEATING_HINT = "does not contain any repeating"
_CLASSIC_HINT = "classic project"


def _check_timeout(timeout: Timeout | float) -> Timeout:
    pair = (timeout, timeout) if isinstance(timeout, int | float) else tuple(timeout)
    if len(pair) != 2 or not all(
        isinstance(t, int | float) and math.isfinite(t) and t > 0 for t in pair
    ):
        raise ConfigError(f"timeout must be (connect, read) positive seconds, not {timeout!r}")
    return float(pair[0]), float(pair[1])


class _DataDictionaryRead:
    """The data dictionary, read as one of a structure's concurrent requests; the requests
    built from it (the record-ID listing, the project XML's cross-check) wait for it. PyCap
    caches it on the Project: record exports reuse it, and a second read asks nothing."""

    def __init__(self, project: RetryingProject) -> None:
        self._project = project
        self._done = threading.Event()
        self.rows: list[Row] = []
        self.read = False

    def __call__(self) -> list[Row]:
        try:
            self.rows.extend(self._project.metadata)
            self.read = True
        finally:
            self._done.set()
        return self.rows

    def wait(self) -> bool:
        """Whether the read succeeded, once it has ended."""
        self._done.wait()
        return self.read


def _xml_not_used(why: str) -> None:
    log.info("redcap project XML not used; reading the separate exports", why=why)


def _labelled(schema: ProjectSchema, answers: dict[str, Any]) -> ProjectSchema:
    """``schema`` with REDCap's version and the forms' labels from the answers read."""
    return schema.model_copy(
        update={
            "redcap_version": answers["version"],
            "form_labels": form_labels_of(answers["instruments"]),
        }
    )


def _flag(info: dict[str, Any], key: str) -> bool | None:
    """A 0/1 flag of the project info export; None if this REDCap does not report it."""
    value = info.get(key)
    if value is None or value == "":
        return None
    try:
        return bool(int(value))
    except (TypeError, ValueError):
        return None


class RedcapClient:
    """A REDCap project's API, with the worker's robustness rules built in.

    - Every request has a ``(connect, read)`` timeout and waits for a rate limiter that lets
      at most ``max_requests_per_second`` requests start in any second (REDCap bans IPs that
      exceed its per-minute threshold, permanently).
    - Transient failures (connection errors, timeouts, 408/429/5xx, unparseable or misshapen
      answers) are retried per ``retry``; after the last attempt ``RedcapUnreachable`` is
      raised. REDCap's own error messages raise ``RedcapRefused`` at once.
    - The token never appears in a message, a log line or ``repr``.

    - At most ``max_concurrent_requests`` requests are in flight at once: export batches are
      requested that many at a time (see ``iter_record_batches``); 1 is one after another.

    ``clock`` and ``sleep`` drive the rate limiter and the retry waits; ``rng`` the jitter.
    Tests inject them; ``rate_limiter`` may be shared by several clients of one server.
    """

    def __init__(
        self,
        url: str,
        token: str | SecretStr,
        *,
        timeout: Timeout = (5.0, 120.0),
        verify_ssl: bool | str = True,
        retry: RetryPolicy | None = None,
        max_requests_per_second: float = 5.0,
        batch_size: int = 200,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        rate_limiter: RateLimiter | None = None,
        allow_insecure_http: bool = False,
        should_stop: Callable[[], bool] | None = None,
        max_concurrent_requests: int = 1,
    ) -> None:
        url = check_url(url, allow_insecure_http=allow_insecure_http)
        plain_token = check_token(token)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch size must be a positive integer, not {batch_size!r}")
        if not isinstance(max_concurrent_requests, int) or max_concurrent_requests < 1:
            raise ConfigError(
                "max concurrent requests must be a positive integer, not "
                f"{max_concurrent_requests!r}"
            )
        self.batch_size = batch_size
        self.max_concurrent_requests = max_concurrent_requests
        self._clock = clock
        self._transport = Transport(
            url=url,
            token=plain_token,
            timeout=_check_timeout(timeout),
            verify_ssl=verify_ssl,
            policy=retry if retry is not None else RetryPolicy(),
            limiter=rate_limiter or RateLimiter(max_requests_per_second, clock=clock, sleep=sleep),
            sleep=sleep,
            rng=rng,
            should_stop=should_stop,
            max_in_flight=max_concurrent_requests,
        )
        self._project = self._make_project(url, plain_token, verify_ssl)
        self._lock = threading.Lock()
        self._schema: ProjectSchema | None = None
        self._labelled = False
        # The schema in use was read from the project XML: no project or event IDs.
        self._lean = False
        # A structure read started by schema_read_ahead, not yet taken by schema().
        self._ahead: tuple[Future[tuple[ProjectSchema, bool]], bool] | None = None
        self._version: str | None = None
        # Every record ID, listed by schema(list_records=True) for the next full export.
        self._listing: Callable[[], list[str]] | None = None
        # Things schema() had to guess, said once in the log and kept here for reports.
        self.schema_warnings: list[str] = []
        # Record IDs REDCap listed that no request can name (escaped for display).
        self.skipped_record_ids: list[str] = []
        if verify_ssl is False:
            log.warning("redcap TLS certificate verification is off", url=self.url)
        if urlsplit(url).scheme == "http" and not is_loopback(urlsplit(url).hostname or ""):
            # Only with allow_insecure_http (check_url refuses it otherwise).
            log.warning("redcap URL is plain http: the token travels unencrypted", url=self.url)

    def _make_project(self, url: str, token: str, verify_ssl: bool | str) -> RetryingProject:
        # PyCap re-checks url and token with asserts whose message holds the token; ours
        # passed, so this cannot fire, but if a PyCap change makes it, only a redacted
        # message leaves, raised outside the except block so nothing is chained.
        problem: str | None = None
        try:
            return RetryingProject(url, token, transport=self._transport, verify_ssl=verify_ssl)
        except AssertionError as exc:
            problem = Redactor(token).redact(exc)
        raise ConfigError(f"PyCap rejected the REDCap URL or token: {problem}")

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API URL as it may be shown (no credentials)."""
        return self._transport.shown_url

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._transport.requests_made

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> RedcapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedcapClient(url={self.url!r}, token=<redacted>)"

    __str__ = __repr__

    # -- project structure ------------------------------------------------------------------

    def version(self) -> str:
        """REDCap's version, e.g. ``"15.7.6"`` (cached)."""
        if self._version is None:
            # PyCap's export_version() drops versions that are not semver; we want the text.
            payload = self._project._initialize_payload("version")
            self._version = str(self._project._call_api(payload, return_type="str")).strip()
        return self._version

    def project_info(self) -> dict[str, Any]:
        return dict(self._project.export_project_info())

    def call_module_page(
        self,
        prefix: str,
        page: str,
        project_id: int | str,
        fields: dict[str, Any],
        *,
        what: str,
        write: bool,
        shape: Callable[[Any], None],
    ) -> Any:
        """POST to an external module's API page (``?prefix=..&page=..&type=module&NOAUTH
        &pid=..``) with the token and JSON formats added, through the same transport (rate
        limit, timeouts, retries, redaction). Writes must be idempotent: they are retried."""
        query = urlencode({"prefix": prefix, "page": page, "type": "module"})
        url = f"{self._transport.url}?{query}&NOAUTH&pid={quote(str(project_id))}"
        payload = {"token": self._project.token, "format": "json", "returnFormat": "json"}
        payload |= fields
        return self._transport.call(
            payload, "json", url=url, what=what, write=write, idempotent=True, shape=shape
        )

    def schema(
        self, *, labels: bool = True, ids: bool = True, list_records: bool = False
    ) -> ProjectSchema:
        """The project's fields, forms, events and repeating setup (cached after the first
        call).

        The data dictionary and the project XML come first, together: the file stands in for
        the project info, event, form-event mapping and repeating exports (one request for
        four). Then, together, what the file lacks and the caller needs: ``list_records``
        lists every record ID, for the next full export to use instead of asking again (a
        run that exports everything anyway); ``ids`` asks for the project info and events,
        the only exports that carry the project and event IDs links and module pages need;
        ``labels`` for what only people read, REDCap's version (for links into its data
        entry pages) and the forms' display labels. Checking needs none of them. A later
        call asking for more adds it.

        If the project XML cannot be had or read, or disagrees with the data dictionary, the
        events export or the project info's ``is_longitudinal``, the separate exports are
        read, asking only what the project has: the project info alone first (its flags
        spare the event and repeating exports of projects that have none, and an unreachable
        REDCap fails on one request), then the rest together. The project info is read
        either way when ``ids`` is: its missing-data codes decide what is an answer. Requests
        go ``max_concurrent_requests`` at a time, the same ones as one after another, with
        the same errors.
        """
        with self._lock:
            ahead, self._ahead = self._ahead, None
            if ahead is not None:  # read as this call would have: its error raised here
                future, self._labelled = ahead
                self._schema, self._lean = future.result()
            elif self._schema is None:
                read = self._read_schema(labels=labels, ids=ids, list_records=list_records)
                self._schema, self._lean = read
                self._labelled = labels
            else:
                # A listing is for the export right after the read that made it, never a
                # later run's (a long-running worker keeps its client).
                self._listing = None
            if ids and self._lean:
                # The project and event IDs the project XML does not carry: read it again.
                labelled = labels or self._labelled
                read = self._read_schema(labels=labelled, ids=True, list_records=False)
                self._schema, self._lean = read
                self._labelled = labelled
            if labels and not self._labelled:
                self._schema = self._schema.model_copy(update=self._labels())
                self._labelled = True
            return self._schema

    @contextmanager
    def schema_read_ahead(
        self, *, labels: bool = True, ids: bool = True, list_records: bool = False
    ) -> Iterator[None]:
        """The structure read, as ``schema(labels=..., ids=..., list_records=...)`` reads
        it, on a thread of its own while the block runs: a command imports its checks while
        REDCap answers. The next ``schema()`` call returns that read's structure (and its
        record listing), or raises its error, as if it had read them itself; the block's end
        waits for the read, so no thread outlives it. A structure already read is kept."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="redcap-schema") as pool:
            with self._lock:
                if self._schema is None and self._ahead is None:
                    read = partial(
                        self._read_schema, labels=labels, ids=ids, list_records=list_records
                    )
                    # In a copy of this context: its log lines carry what this run's carry.
                    self._ahead = (pool.submit(contextvars.copy_context().run, read), labels)
            yield

    def use_schema(self, schema: ProjectSchema) -> None:
        """Work with a structure read earlier (e.g. saved by the last full sync) instead of
        reading it again: exports take the record-ID field and forms from it."""
        with self._lock:
            self._schema = schema
            self._labelled = True
            self._lean = False
            self._listing = None
            self._ahead = None
            self._project.know_record_id_field(schema.record_id_field)

    def forget_schema(self) -> None:
        """Drop the structure in use: the next ``schema()`` reads it from REDCap."""
        with self._lock:
            self._schema = None
            self._labelled = False
            self._lean = False
            self._listing = None
            self._ahead = None
            self._project.know_record_id_field(None)

    def _labels(self) -> dict[str, Any]:
        instruments = self._project.export_instruments()
        return {
            "redcap_version": self.version(),
            "form_labels": form_labels_of(instruments),
        }

    def _read_schema(
        self, *, labels: bool, ids: bool, list_records: bool
    ) -> tuple[ProjectSchema, bool]:
        """The structure, and whether it lacks the project and event IDs (read from the
        project XML without them: only when ``ids`` is False)."""
        self._listing = None
        read = self._read_schema_from_xml(labels=labels, ids=ids, list_records=list_records)
        if read is not None:
            return read, not ids
        # The data dictionary (cached by PyCap) and the listing may be read already.
        list_records = list_records and self._listing is None
        return self._read_schema_from_exports(labels=labels, list_records=list_records), False

    def _read_schema_from_xml(
        self, *, labels: bool, ids: bool, list_records: bool
    ) -> ProjectSchema | None:
        """The data dictionary and the project XML together (which stands in for the project
        info, event, form-event mapping and repeating exports), then the record IDs; with
        ``ids`` the project info and events too (the only exports that carry the project
        and event IDs), with ``labels`` the version and instruments. Checking's structure
        takes three requests in two round trips where the separate exports take six in
        three. None when the project XML cannot be had or read (an older REDCap, a stand-in
        without it) or disagrees with the data dictionary, the events export or the project
        info: nothing is guessed and the caller reads the separate exports. A listing is
        asked for only once the file is judged against the data dictionary; one asked for
        already is kept, as it reads nothing but the data dictionary."""
        metadata = _DataDictionaryRead(self._project)
        xml_judged = threading.Event()
        judged: list[ProjectXml | str] = []

        def read_xml() -> ProjectXml | str:
            try:
                found = self._project_xml()
                if isinstance(found, ProjectXml):
                    read = metadata.wait()
                    why = found.contradiction(metadata.rows) if read else "no data dictionary"
                    found = found if why is None else why
                judged.append(found)
                return found
            finally:
                xml_judged.set()

        def once_judged(read: Callable[[], Any]) -> Callable[[], Any]:
            # The rest is asked for only if the structure is to be read this way (the
            # listing needs the data dictionary's record-ID field and forms anyway).
            def ask() -> Any:
                xml_judged.wait()
                if not (judged and isinstance(judged[0], ProjectXml)):
                    raise Abandoned
                return read()

            return ask

        # In this order: the listing takes the first free slot after the data dictionary.
        # It is only started here: the caller gets the structure without waiting for it
        # (a check loads its study meanwhile), and the export waits for it.
        asked: dict[str, Callable[[], Any]] = {"metadata": metadata, "xml": read_xml}
        if list_records:
            asked["record IDs"] = once_judged(self._listing_started)

        def events_unless_classic() -> list[Row]:
            # A project without events (the file says so) is not asked: REDCap refuses the
            # events export of a classic project, and logs the refusal as an API error. Asked,
            # a refusal is read as none.
            xml = judged[0]
            assert isinstance(xml, ProjectXml)
            return self._events(known_longitudinal=False) if xml.events else []

        if ids:
            asked["info"] = once_judged(self.project_info)
            asked["events"] = once_judged(events_unless_classic)
        if labels:
            asked["instruments"] = once_judged(self._project.export_instruments)
            asked["version"] = once_judged(self.version)
        answered = in_order(
            asked.values(), width=self.max_concurrent_requests, name="redcap-schema"
        )
        answers: dict[str, Any] = {}
        try:
            for name, answer in zip(asked, answered, strict=True):
                if name == "xml" and isinstance(answer, str):
                    _xml_not_used(answer)
                    return None
                answers[name] = answer
        finally:
            answered.close()
        self._listing = answers.get("record IDs")
        xml: ProjectXml = answers["xml"]
        events = answers.get("events", xml.events)
        if [e.get("unique_event_name") for e in events] != [
            e["unique_event_name"] for e in xml.events
        ]:
            _xml_not_used("its events are not the events export's")
            return None
        if not xml.events and _flag(answers.get("info", {}), "is_longitudinal"):
            _xml_not_used("it has no events, but the project info says the project has")
            return None
        schema = ProjectSchema.from_exports(
            project_info=answers.get("info", xml.project_info),
            metadata=metadata.rows,
            events=events,
            form_event_mapping=xml.form_event_mapping,
            repeating=xml.repeating,
        )
        return _labelled(schema, answers) if labels else schema

    def _project_xml(self) -> ProjectXml | str:
        """The project XML's structure, or why there is none. One attempt: on any failure
        the separate exports (retried as usual) give the same structure."""
        payload = self._project._initialize_payload("project_xml", format_type="xml")
        # No returnFormat: REDCap then words its errors in XML too, which PyCap reads.
        payload["returnMetadataOnly"] = "true"
        try:
            text = self._transport.call(payload, "str", attempts=1)
        except (RedcapRefused, RedcapUnreachable) as exc:
            return f"the request failed: {exc}"
        try:
            return read_project_xml(str(text))
        except UnreadableProjectXml as exc:
            return f"unreadable: {exc}"

    def _read_schema_from_exports(self, *, labels: bool, list_records: bool) -> ProjectSchema:
        # The project info alone first: what else to ask depends on it, and an unreachable
        # or refusing REDCap fails on one request, not on several retried at once.
        info = self.project_info()
        longitudinal = _flag(info, "is_longitudinal")
        metadata = _DataDictionaryRead(self._project)

        def list_record_ids() -> Callable[[], list[str]]:
            # The record-ID field and the forms come from the data dictionary: asked
            # together with it, the listing waits for it (if it failed, so has the read).
            if not metadata.wait():
                raise Abandoned
            return self._record_listing()

        asked: dict[str, Callable[[], Any]] = {"metadata": metadata}
        if longitudinal is not False:
            asked["events"] = partial(self._events_and_mapping, known_longitudinal=longitudinal)
        if _flag(info, "has_repeating_instruments_or_events") is not False:
            asked["repeating"] = self._repeating_setup
        if labels:
            asked["instruments"] = self._project.export_instruments
            asked["version"] = self.version
        if list_records:
            asked["record IDs"] = list_record_ids
        width = self.max_concurrent_requests
        answered = in_order(asked.values(), width=width, name="redcap-schema")
        answers = dict(zip(asked, answered, strict=True))
        events, mapping = answers.get("events", ([], []))
        repeating = answers.get("repeating", [])
        if list_records:
            self._listing = answers["record IDs"]
        schema = ProjectSchema.from_exports(
            project_info=info,
            metadata=metadata.rows,
            events=events,
            form_event_mapping=mapping,
            repeating=repeating,
        )
        return _labelled(schema, answers) if labels else schema

    def _events_and_mapping(
        self, *, known_longitudinal: bool | None
    ) -> tuple[list[Row], list[Row]]:
        events = self._events(known_longitudinal=known_longitudinal is True)
        mapping = list(self._project.export_instrument_event_mappings()) if events else []
        return events, mapping

    def _listing_started(self) -> Callable[[], list[str]]:
        """The record listing, started on a thread of its own; the callable returned waits
        for it and returns the IDs or raises the listing's error, unchanged."""
        return self._started(partial(self._ids_export, records=None, date_begin=None))

    def existence_listing_started(self) -> Callable[[], set[str]]:
        """Every record ID, as ``existing_records`` reads them for more records than one
        request can name, started on a thread of its own: for a writer that will ask about
        that many, started while it works out what to write. The callable returned waits
        for the listing; pass it to ``existing_records``."""
        return self._started(self._every_record_id)

    @staticmethod
    def _started(work: Callable[[], T]) -> Callable[[], T]:
        """``work`` started on a daemon thread of its own; the callable returned waits for
        it and returns its result or raises its error, unchanged."""
        done: Future[T] = Future()

        def run() -> None:
            # Not given up with a task that started it, which may end first; its requests
            # sent when the rate limiter lets them while this thread's starter computes
            # (see worker.handover).
            with on_its_own(), prompt_handover():
                try:
                    done.set_result(work())
                except BaseException as exc:  # e.g. StopRequested: raised where it is used
                    done.set_exception(exc)

        # In a copy of this context: its log lines carry what this run's carry. A daemon:
        # a run that fails before using it leaves it to end with its request.
        thread = threading.Thread(
            target=contextvars.copy_context().run, args=(run,), name="redcap-listing", daemon=True
        )
        thread.start()
        return done.result

    def _record_listing(self) -> Callable[[], list[str]]:
        """The record IDs, or the listing's error: raised when the listing is used, so a
        failed listing surfaces where it would have without the head start."""
        try:
            ids = self._ids_export(records=None, date_begin=None)
        except Exception as exc:  # re-raised unchanged when the IDs are used
            failure = exc

            def fail() -> list[str]:
                raise failure

            return fail
        return lambda: ids

    def _events(self, *, known_longitudinal: bool) -> list[Row]:
        if known_longitudinal:
            return list(self._project.export_events())
        # This REDCap does not report is_longitudinal: ask, and read its classic-project
        # refusal as "no events".
        try:
            return list(self._project.export_events())
        except RedcapRequestRefused as exc:
            if _CLASSIC_HINT not in exc.redcap_message:
                raise
        return []

    def _repeating_setup(self) -> list[Row]:
        try:
            return list(self._project.export_repeating_instruments_events())
        except RedcapRequestRefused as exc:
            message = exc.redcap_message
            if _NO_REPEATING_HINT in message:
                return []
            if _DESIGN_RIGHTS_HINT not in message.lower():
                raise
        # Without the Project Design right REDCap will not say which forms/events repeat.
        # Carry on with none, and say so: rows with redcap_repeat_instrument still arrive.
        warning = (
            "repeating instruments and events unknown: the API token's user lacks the "
            "'Project Setup/Design' right REDCap requires to export them; the schema lists "
            "no repeating forms or events"
        )
        self.schema_warnings.append(warning)
        log.warning("redcap repeating setup unavailable", reason="missing design rights")
        return []

    # -- records ------------------------------------------------------------------------------

    def _record_id_field(self) -> str:
        if self._schema is not None:
            return self._schema.record_id_field
        return self._project.def_field  # first metadata field; fetched once, cached by PyCap

    def _all_forms(self) -> list[str]:
        if self._schema is not None:
            return list(self._schema.forms)
        # PyCap's `forms` is an unordered set; keep the data dictionary's order.
        return list(dict.fromkeys(row["form_name"] for row in self._project.metadata))

    def record_ids(self, *, date_begin: datetime | None = None) -> list[str]:
        """Every record ID (only those created or changed since ``date_begin``, in REDCap
        server time, if given): one export, deduplicated, sorted.

        The export asks for the record-ID field and every form's ``{form}_complete`` status:
        REDCap may return no row for a record-ID-only export of a record whose data are all
        in repeating instruments or events, but a status is stored with every saved form
        instance, so each record has a row. Still one request; a row per instance, not per
        record, so a larger answer."""
        return self._ids_export(records=None, date_begin=date_begin)

    def existing_records(
        self, records: Iterable[str], *, listed: Callable[[], set[str]] | None = None
    ) -> set[str]:
        """Which of ``records`` exist now: one export of the record-ID field and form
        statuses (as ``record_ids``), so a record holding only repeating data counts too.
        Writers ask right before importing: REDCap creates a record an import names.

        Up to ``batch_size`` records are named in the request (as an export batch names
        them); more are checked against the export of every record ID, still one request,
        where naming thousands would exceed what PHP reads of a request (``max_input_vars``
        drops the rest silently): ``listed``, that export started already
        (``existence_listing_started``), if given."""
        wanted = self._id_list(records)
        if not wanted:
            return set()
        if not self.lists_every_record(len(wanted)):
            return set(self._listed_ids(records=wanted, date_begin=None)) & set(wanted)
        return (listed or self._every_record_id)() & set(wanted)

    def lists_every_record(self, records: int) -> bool:
        """Whether ``existing_records`` reads the listing of every record for this many:
        more than one request names."""
        return records > self.batch_size

    def _every_record_id(self) -> set[str]:
        return set(self._listed_ids(records=None, date_begin=None))

    def _ids_export(self, *, records: list[str] | None, date_begin: datetime | None) -> list[str]:
        ids = self._listed_ids(records=records, date_begin=date_begin)
        unsendable = [i for i in ids if has_surrogates(i)]
        if unsendable:
            # Text no request can carry (a lone surrogate): the record cannot be asked for
            # by its ID, so it is left out, and said so, rather than failing every run.
            for listed in unsendable:
                log.warning(
                    "record ID is not valid text; the record cannot be exported or checked",
                    record=visible(listed),
                )
            self.skipped_record_ids.extend(visible(i) for i in unsendable)
            ids = [i for i in ids if not has_surrogates(i)]
        return sort_record_ids(ids)

    def _listed_ids(self, *, records: list[str] | None, date_begin: datetime | None) -> list[str]:
        id_field = self._record_id_field()
        statuses = [f"{form}_complete" for form in self._all_forms()]
        # CSV, read a line at a time: the listing has a row per record, event and instance,
        # and as JSON objects (every column named in every row) it took hundreds of MB at
        # 50,000 records; as CSV text it is a tenth of that, and only the IDs are kept.
        text = self._project.export_records(
            records=records,
            fields=[id_field, *statuses],
            date_begin=date_begin,
            format_type="csv",
        )
        ids = ids_of_csv(text, id_field)
        if ids is None:
            raise RedcapUnreachable(
                f"REDCap at {self.url} answered the record-ID export without the record-ID "
                f"field {id_field!r}"
            )
        if any(UNDECODABLE in i for i in ids):
            # Bytes that are not UTF-8 arrive as U+FFFD: the CSV cannot say which text the
            # ID holds. REDCap's JSON escapes it, so the listing is asked for once more as
            # JSON (rare: no other ID costs this).
            rows = self._project.export_records(
                records=records, fields=[id_field, *statuses], date_begin=date_begin
            )
            if not all(id_field in row for row in rows):
                raise RedcapUnreachable(
                    f"REDCap at {self.url} answered the record-ID export without the "
                    f"record-ID field {id_field!r}"
                )
            ids = unique(str(row[id_field]) for row in rows)
            del rows
        return ids

    def iter_record_batches(
        self,
        *,
        forms: list[str] | None = None,
        records: list[str] | None = None,
        date_begin: datetime | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[list[Row]]:
        """Yield the flat rows of ``batch_size`` whole records at a time.

        Stage one exports only the record-ID field (filtered by ``date_begin``) unless
        ``records`` names the records (then ``date_begin`` filters each batch instead);
        stage two exports the records in batches, never splitting one record's rows.
        ``forms`` limits the export to those forms (None: all; an empty list: none, only the
        record-ID field); the record-ID field and REDCap's pseudo-fields (event, repeat
        instrument and instance) always come along.
        ``on_progress(done, total)`` is called with 0 first, then after each batch.

        With ``max_concurrent_requests`` above 1, that many batches are requested at once
        (never above the rate ceiling) while the batches are still yielded in order, each
        retried on its own; besides the batch being consumed, no more than one more than
        that many are requested or held here (see ``in_order``), the answers as text. A
        failed batch is raised in its place; then, or when the consumer stops early, the
        requests ahead are given up and their threads finish.

        Nothing is requested until the first batch is asked for.
        """
        form_list = None if forms is None else self._form_list(forms)
        id_list = None if records is None else self._id_list(records)
        return self._batches(form_list, id_list, date_begin, on_progress)

    def export_records(self, records: list[str], forms: list[str] | None = None) -> list[Row]:
        """The rows of the given records (batched underneath, like ``iter_record_batches``)."""
        batches = self._batches(
            None if forms is None else self._form_list(forms), self._id_list(records), None, None
        )
        return [row for batch in batches for row in batch]

    @staticmethod
    def _form_list(forms: Iterable[str]) -> list[str]:
        if isinstance(forms, str):  # one form name, not its characters
            return [forms]
        return unique(forms)

    @staticmethod
    def _id_list(records: Iterable[str]) -> list[str]:
        ids = [records] if isinstance(records, str) else unique(str(r) for r in records)
        for given in ids:
            if has_surrogates(given):
                raise ConfigError(f"record ID {visible(given)!r} is not valid text")
        return ids

    def _batches(
        self,
        forms: list[str] | None,
        records: list[str] | None,
        date_begin: datetime | None,
        on_progress: ProgressCallback | None,
    ) -> Iterator[list[Row]]:
        id_field = self._record_id_field()
        # Naming the forms (rather than none) keeps the POST small: PyCap would otherwise
        # send every field name, and PHP silently drops form variables past max_input_vars.
        form_list = self._all_forms() if forms is None else forms
        listed, self._listing = self._listing, None  # used once, by the export right after
        if records is None and date_begin is None and listed is not None:
            ids, batch_date_begin = listed(), None
        elif records is None:
            ids = self.record_ids(date_begin=date_begin)
            batch_date_begin = None  # stage one already filtered
        else:
            ids, batch_date_begin = records, date_begin
        total, done = len(ids), 0
        if on_progress is not None:
            on_progress(done, total)

        def export(batch: list[str]) -> tuple[str | list[Row], float]:
            """The batch's answer (CSV text, or rows when it had to be asked as JSON) and
            the seconds it took."""
            started = self._clock()
            ask = partial(
                self._project.export_records,
                records=batch,
                fields=[id_field],
                forms=form_list,
                date_begin=batch_date_begin,
                # Each record's site, for per-site summaries; REDCap leaves the column out
                # when the project has no data access groups.
                export_data_access_groups=True,
            )
            # As CSV: a tenth of the JSON's size (which names every column in every row),
            # and read in half the time.
            answer: str | list[Row] = ask(format_type="csv")
            if UNDECODABLE in answer:
                # Bytes that are not UTF-8 arrive as U+FFFD: which text they hold only
                # REDCap's JSON (which escapes them) can say. Rare: asked again as JSON.
                answer = ask()
            return answer, self._clock() - started

        def read(
            number: int, batch: list[str], answer: str | list[Row], seconds: float
        ) -> list[Row]:
            rows = answer if isinstance(answer, list) else rows_of_csv(answer)
            if rows is None:
                raise RedcapUnreachable(
                    f"REDCap at {self.url} answered export batch {number} with a CSV whose "
                    "rows do not match its header"
                )
            log.info(
                "redcap records batch exported",
                batch=number,
                records=len(batch),
                rows=len(rows),
                seconds=round(seconds, 3),
            )
            return rows

        batches = list(batched(ids, self.batch_size))
        tasks = (partial(export, batch) for batch in batches)
        # Up to max_concurrent_requests batches at a time, handed on in order: the same
        # sequence as one after another. Each answer is read into rows here, as it is handed
        # on, not on the thread that asked for it: that thread is free for the next batch
        # the moment the answer is in, and the answers waiting are held as text, a tenth of
        # the size of their rows.
        exported = in_order(tasks, width=self.max_concurrent_requests, name="redcap-export")
        try:
            for number, (batch, (answer, seconds)) in enumerate(
                zip(batches, exported, strict=False), start=1
            ):
                rows = read(number, batch, answer, seconds)
                del answer
                done += len(batch)
                if on_progress is not None:
                    on_progress(done, total)
                yield rows
        finally:
            exported.close()  # a consumer that stops early stops the requests ahead

    # -- writes -------------------------------------------------------------------------------

    @overload
    def import_records(
        self,
        rows: Iterable[Row],
        *,
        overwrite: Literal["normal", "overwrite"] = ...,
        idempotent: bool = ...,
        return_content: Literal["count"] = ...,
    ) -> int: ...

    @overload
    def import_records(
        self,
        rows: Iterable[Row],
        *,
        overwrite: Literal["normal", "overwrite"] = ...,
        idempotent: bool = ...,
        return_content: Literal["ids"],
    ) -> list[str]: ...

    def import_records(
        self,
        rows: Iterable[Row],
        *,
        overwrite: Literal["normal", "overwrite"] = "normal",
        idempotent: bool = False,
        return_content: Literal["count", "ids"] = "count",
    ) -> int | list[str]:
        """Import flat rows; return REDCap's count of records touched, or their IDs.

        REDCap validates the whole request first and writes nothing if any value is bad:
        that raises ``RedcapRefused`` whose ``redcap_message`` holds REDCap's lines verbatim
        (they contain record names and values, so its one-line ``str`` names only the fields;
        the caller decides whether to show the rest).

        Retries: an import is not idempotent in general (``redcap_repeat_instance: "new"``
        adds an instance each time), so by default it is retried only when the request surely
        never reached REDCap (the connection could not be opened). A lost answer (timeout,
        dropped connection, 5xx) raises ``RedcapUnreachable`` saying it may have been applied.
        Callers that send explicit record names and instance numbers (never ``"new"``) make
        a repeat harmless and may pass ``idempotent=True`` for full retries.
        """
        if overwrite not in ("normal", "overwrite"):
            raise ValueError(f"overwrite must be 'normal' or 'overwrite', not {overwrite!r}")
        if return_content not in ("count", "ids"):
            raise ValueError(f"return_content must be 'count' or 'ids', not {return_content!r}")
        data = list(rows)
        if not data:
            return 0 if return_content == "count" else []
        payload = self._project._initialize_import_payload(
            to_import=data, import_format="json", return_format_type="json", content="record"
        )
        payload.update(
            overwriteBehavior=overwrite,
            returnContent=return_content,
            dateFormat="YMD",
            forceAutoNumber=False,
        )
        if return_content == "count":
            answer = self._project.call(payload, "count_dict", idempotent=idempotent)
            return int(answer["count"])
        answer = self._project.call(payload, "ids_list", idempotent=idempotent)
        return [str(record) for record in answer]
