"""``sync`` with ``queries.target = "drw"``: findings as queries in REDCap's Data Resolution
Workflow, through the Data Quality API module (``worker.redcap_client.drw``).

The run checks the records exactly as the instrument target does, then exports the DRW
statuses of the records it judged, plans the resolutions to append (``worker.core.drw``),
journals them with their timestamps in the state folder, and imports them in batches. A
retried, repeated or interrupted import re-sends the same timestamps, and the module skips
a resolution whose ``ts`` and ``username`` it already holds, so nothing is added twice.
An unchanged project costs one export and no import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

import structlog

from worker.core.drw import (
    DrwKey,
    DrwPlan,
    DrwStatus,
    Pending,
    Places,
    PlannedResolution,
    apply_plan,
    as_queries,
    import_rows,
    reconcile,
)
from worker.core.findings import Kind, Severity
from worker.core.outcome import RunOutcome
from worker.core.queries import TIMESTAMP_FORMAT, Change, Plan, Query
from worker.errors import ConfigError
from worker.pipeline import ProgressCallback, check_batches, load_study, reads_ahead
from worker.redcap_client import RedcapClient
from worker.redcap_client.drw import DrwApi
from worker.state import StateDir
from worker.state_records import StateFormatError, fields, text, whole
from worker.sync_run import (
    WRITE_BATCH_ROWS,
    StopCheck,
    SyncOptions,
    SyncStopped,
    open_visit,
    rules_that_ran,
    until_stopped,
)

log = structlog.get_logger(__name__)


# -- the journal of planned resolutions ----------------------------------------------------


@dataclass(frozen=True)
class JournalRecord:
    """The journal as the state folder keeps it: whose project, and what is pending; a
    state record (``worker.state_records``)."""

    FILE: ClassVar[str] = "drw-journal.json"
    FORMAT: ClassVar[int] = 1

    owner: Mapping[str, Any]  # url, project_id, username
    pending: Mapping[DrwKey, Pending]

    def to_json(self) -> dict[str, Any]:
        items = [
            {
                "record": key.record,
                "event_id": key.event_id,
                "field": key.field,
                "instance": key.instance,
                "ts": item.ts,
                "query_status": item.query_status,
                "tag": item.tag,
            }
            for key, item in self.pending.items()
        ]
        return {"owner": dict(self.owner), "pending": items}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls._read(document, skip_damaged=False)

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        # The previous code skipped the entries it could not read.
        return cls._read(fields(value, cls.FILE), skip_damaged=True)

    @classmethod
    def _read(cls, document: Mapping[str, Any], *, skip_damaged: bool) -> Self:
        items = document.get("pending", [])
        if not isinstance(items, list):
            raise StateFormatError("pending: not a list")
        pending: dict[DrwKey, Pending] = {}
        for item in items:
            try:
                entry = fields(item, "pending")
                key = DrwKey(
                    text(entry.get("record"), "record"),
                    text(entry.get("event_id"), "event_id"),
                    text(entry.get("field"), "field"),
                    whole(entry.get("instance"), "instance"),
                )
                pending[key] = Pending(
                    text(entry.get("ts"), "ts"),
                    text(entry.get("query_status"), "query_status"),
                    text(entry.get("tag"), "tag"),
                )
            except StateFormatError:
                if not skip_damaged:
                    raise
        return cls(dict(fields(document.get("owner"), "owner")), pending)


class Journal:
    """Resolutions planned and not yet confirmed, with the timestamps chosen for them.

    Written before an import is sent, emptied as batches are confirmed. The next run reads
    it: a resolution it plans again for the same place (same status, same tag) reuses the
    journaled timestamp, so if the interrupted import did land (or lands late) the module
    skips the repeat. Losing the file costs nothing unless an import is in flight.
    """

    def __init__(self, state: StateDir, url: str, project_id: int, username: str) -> None:
        self.state = state
        self.owner = {"url": url, "project_id": project_id, "username": username}

    def pending(self) -> dict[DrwKey, Pending]:
        saved = self.state.read_record(JournalRecord)
        if saved is None or saved.owner != self.owner:
            return {}
        return dict(saved.pending)

    def write(self, resolutions: Iterable[PlannedResolution]) -> None:
        pending = {r.key: Pending(r.ts, r.query_status, r.tag) for r in resolutions}
        self.state.write_record(JournalRecord(self.owner, pending))


JOURNAL = JournalRecord.FILE


# -- the run --------------------------------------------------------------------------------


def server_time(timezone: str) -> tuple[Callable[[datetime], str], Callable[[str], Any]]:
    """UTC -> REDCap server time text, and back (DRW timestamps are server local time in
    ``timezone``, ``redcap.server_timezone``)."""
    zone = ZoneInfo(timezone)

    def to_server(moment: datetime) -> str:
        return moment.astimezone(zone).strftime(TIMESTAMP_FORMAT)

    def to_utc(text: str) -> datetime | None:
        try:
            return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=zone).astimezone(UTC)
        except ValueError:
            return None

    return to_server, to_utc


def describer(study_checks: Iterable[Any]) -> Callable[[str], tuple[Kind | None, Severity | None]]:
    known = {c.id: (c.kind, c.severity) for c in study_checks}
    return lambda rule: known.get(rule, (None, None))


def run_drw_sync(
    client: RedcapClient,
    options: SyncOptions,
    *,
    as_of: date,
    now: datetime | None = None,
    records: Sequence[str] | None = None,
    date_begin: datetime | None = None,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_change: Callable[[Change], None] | None = None,
    should_stop: StopCheck | None = None,
) -> RunOutcome:
    """Check, reconcile with the DRW, append resolutions (see the module docstring)."""
    username = options.queries.drw_username
    if not username:
        raise ConfigError('queries.drw_username: required for queries.target = "drw"')
    schema = client.schema()
    places = Places(schema)
    if places.missing_event_ids():
        raise ConfigError(
            "the events export has no event_id for "
            + ", ".join(places.missing_event_ids())
            + ": the DRW names events by ID"
        )
    api = DrwApi(client, schema, options.queries.drw_prefix)
    study = load_study(options.study, schema)
    now = now or datetime.now(UTC)
    partial = bool(records) or date_begin is not None

    judged: set[str] = set()

    batches: Iterable[Sequence[dict[str, Any]]] = client.iter_record_batches(
        forms=list(study.forms_to_export),
        records=list(records) if records else None,
        date_begin=date_begin,
        on_progress=on_progress,
    )
    if should_stop is not None:
        batches = until_stopped(batches, should_stop)
    result = check_batches(
        study,
        batches,
        as_of=as_of,
        partial=partial,
        visits=open_visit,
        max_error_share=options.max_error_share,
        on_record=lambda record, _: judged.add(record.record_id),
        source_reads_ahead=reads_ahead(client),
    )
    if should_stop is not None and should_stop():
        raise SyncStopped("stopped before reading the DRW; nothing written")

    if not partial:
        statuses = api.export()
    elif judged:
        statuses = api.export(sorted(judged))
    else:
        statuses = []
    findings = [f for f in result.findings if not f.check_error and f.record in judged]
    ran = rules_that_ran(study, partial=partial)
    to_server, to_utc = server_time(options.server_timezone)
    journal = Journal(StateDir(options.state_dir), client.url, api.project_id, username)
    failed = result.failed
    plan = reconcile(
        statuses,
        findings,
        places=places,
        username=username,
        ran=lambda record, rule: rule in ran and rule not in failed.get(record, ()),
        now=to_server(now),
        pending=journal.pending(),
        judged=judged.__contains__,
    )
    result.plan, result.dry_run = _as_plan(plan, places), dry_run
    result.resolutions = plan.resolutions
    result.event_names = dict(places.event_names)
    for change in result.plan.changes:
        if on_change is not None:
            on_change(change)
    written: list[PlannedResolution] = []
    if not dry_run and plan.resolutions:
        written = _write(api, journal, plan.resolutions, result, should_stop)
    after = apply_plan(statuses, plan.resolutions if dry_run else written)
    result.queries = as_queries(
        {k: v for k, v in after.items() if k.record in judged},
        findings,
        places=places,
        username=username,
        to_utc=to_utc,
        describe=describer(study.ruleset.checks if study.ruleset else ()),
    )
    log.info("sync finished", target="drw", resolutions=len(written))
    return result


def _as_plan(plan: DrwPlan, places: Places) -> Plan:
    """The planned resolutions as the sync's counts and ``on_change`` see them."""
    out = Plan(unchanged=plan.unchanged, not_run=plan.not_run)
    for res in plan.resolutions:
        out.changes.append(
            Change(
                action=res.action,
                record=res.key.record,
                instance=res.key.instance,
                query_id=f"{places.event_name(res.key)}:{res.key.field}:{res.key.instance}",
                rule=",".join(res.rules),
                row={"field_name": res.key.field, "ts": res.ts, "status": res.query_status},
            )
        )
    return out


def _write(
    api: DrwApi,
    journal: Journal,
    resolutions: list[PlannedResolution],
    sync: RunOutcome,
    should_stop: StopCheck | None,
) -> list[PlannedResolution]:
    """Journal, then import in batches; each confirmed batch leaves the journal. A refusal
    (the DRW off, the project inactive) is raised: the batches after it would be refused
    too, and the journal keeps what was not confirmed."""
    journal.write(resolutions)
    done: list[PlannedResolution] = []
    for start in range(0, len(resolutions), WRITE_BATCH_ROWS):
        if should_stop is not None and should_stop():
            raise SyncStopped(
                f"stopped after writing {len(done)} of {len(resolutions)} DRW resolutions"
            )
        batch = resolutions[start : start + WRITE_BATCH_ROWS]
        api.import_statuses(import_rows(batch, project_id=api.project_id))
        done += batch
        sync.written += len(batch)
        journal.write(resolutions[start + len(batch) :])
        for res in batch:
            log.info(
                "drw query " + res.action.value,
                record=res.key.record,
                event_id=res.key.event_id,
                field=res.key.field,
                instance=res.key.instance,
                rules=list(res.rules),
            )
    return done


def render_drw_plan(result: RunOutcome) -> str:
    lines = ["Planned DRW resolutions (dry run, nothing written):"]
    planned = sorted(result.resolutions or (), key=lambda r: r.key)
    for record, group in groupby(planned, key=lambda r: r.key.record):
        lines.append(f"Record {record}")
        for res in group:
            event = result.event_names.get(res.key.event_id, "")
            where = f"{event + ' ' if event else ''}{res.key.field}"
            if res.key.instance > 1:
                where += f" #{res.key.instance}"
            lines.append(f"  {res.action.value:<8} {where:<40} {', '.join(res.rules)}")
    if not planned:
        lines.append("  none: the DRW already matches the findings")
    return "\n".join(lines)


def statuses_by_key(statuses: Iterable[DrwStatus]) -> dict[DrwKey, DrwStatus]:
    return {s.key: s for s in statuses}


def read_drw_queries(
    client: RedcapClient,
    outcome: RunOutcome,
    options: SyncOptions,
    checks: Iterable[Any] = (),
) -> dict[str, list[Query]]:
    """For the report: the project's DRW statuses, read now, as each record's queries, with
    status and age from the DRW (the outcome's findings say where the worker's are;
    ``checks``, the study's, give the kind and severity of those no finding describes)."""
    schema = outcome.schema
    if schema is None:
        raise ValueError("the outcome of a run names its project's schema")
    _, to_utc = server_time(options.server_timezone)
    statuses = DrwApi(client, schema, options.queries.drw_prefix).export()
    return as_queries(
        statuses_by_key(statuses),
        outcome.findings,
        places=Places(schema),
        username=options.queries.drw_username or "",
        to_utc=to_utc,
        describe=describer(checks),
    )
