"""Data queries in REDCap's own Data Resolution Workflow (DRW), the second query target.

REDCap keeps one DRW *status* per record, event, field and instance, and under it a thread
of *resolutions* (comments, responses, status changes), each with a timestamp and the user
who wrote it. The Data Quality API module (``vanderbilt_dataQuality``) exports both and
imports new resolutions; it never edits or deletes one. So the worker speaks only by
appending resolutions under its own username, and everything people wrote stays.

Pure reconciliation, the same lifecycle as the instrument target (``worker.core.queries``):

- findings at a place with no open worker query      -> CREATE: an Open resolution
- the worker's open query, every finding there gone  -> RESOLVE: a Closed resolution
- a query the worker closed, a finding back          -> REOPEN
- a query a person closed (after "Confirmed correct") -> stays closed while every finding
  there has the values the worker last described; a new finding or changed values reopen it
- the worker's open query, findings or values changed -> UPDATE: a comment, still Open

Several checks on one field share its status; it closes when the last of them is gone.

Where the fingerprint lives: the module stores nothing but resolutions, so each of the
worker's comments ends in a tag, ``[dq-worker LAB-01=3f2a...,DQ-RANGE=9b1c...]`` (the
checks open at that place and the fingerprints of the values each read; ``[dq-worker -]``
when closing). Only resolutions by the worker's username count as its own. Messages are not
compared (they count days and change daily): an open query is written again only when its
values change.

Timestamps are REDCap server time (``YYYY-MM-DD HH:MM:SS``), chosen by the worker: always
later than every resolution already in the thread (so the status follows the new one), and
reused from the journal of an interrupted run (so the module's ``ts`` + ``username`` dedupe
makes a repeated import a no-op).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from worker.core.findings import Finding, Kind, Severity
from worker.core.queries import (
    TIMESTAMP_FORMAT,
    Action,
    Query,
    Status,
    digest,
    fingerprint,
    query_id,
)
from worker.core.schema import ProjectSchema

OPEN, CLOSED, VERIFIED, DEVERIFIED = "OPEN", "CLOSED", "VERIFIED", "DEVERIFIED"
CLOSED_STATES = frozenset({CLOSED, VERIFIED})
RESPONSES = frozenset(
    {"DATA_MISSING", "TYPOGRAPHICAL_ERROR", "CONFIRMED_CORRECT", "WRONG_SOURCE", "OTHER"}
)
TAG_PREFIX = "[dq-worker "
_TAG = re.compile(r"\[dq-worker ([^\]\s]*)\]\s*$")
ONE_SECOND = timedelta(seconds=1)


class DrwShapeError(ValueError):
    """The module's answer is not the shape its export returns."""


# -- what the module exports ------------------------------------------------------------


@dataclass(frozen=True, order=True)
class DrwKey:
    """One DRW status: record, event ID ("" in a classic project), field, instance."""

    record: str
    event_id: str
    field: str
    instance: int


@dataclass(frozen=True)
class Resolution:
    res_id: str
    ts: str  # REDCap server time, TIMESTAMP_FORMAT
    username: str
    comment: str = ""
    response_requested: bool = False
    response: str = ""
    current_query_status: str = ""


@dataclass(frozen=True)
class DrwStatus:
    status_id: str
    key: DrwKey
    query_status: str  # "" when the status holds comments only
    resolutions: tuple[Resolution, ...]  # oldest first

    def newest_ts(self) -> str:
        return max((r.ts for r in self.resolutions), default="")

    def worker_tag(self, username: str) -> dict[str, str] | None:
        """What the worker last said was open here (check -> fingerprint); None if never."""
        for res in reversed(self.resolutions):
            if res.username == username:
                tag = parse_tag(res.comment)
                if tag is not None:
                    return tag
        return None

    @property
    def is_closed(self) -> bool:
        return self.query_status in CLOSED_STATES

    def closed_by(self) -> str:
        """Who set the current closed status (the last closing resolution's username)."""
        for res in reversed(self.resolutions):
            if res.current_query_status in CLOSED_STATES:
                return res.username
        return ""

    def opened_at(self) -> str:
        """When the current open episode began: the first Open resolution after the last
        close (server time); "" if the status is not open."""
        if self.query_status not in (OPEN, DEVERIFIED):
            return ""
        start = ""
        for res in self.resolutions:
            if res.current_query_status in CLOSED_STATES:
                start = ""
            elif res.current_query_status == OPEN and not start:
                start = res.ts
        return start

    def reopen_count(self, username: str) -> int:
        return sum(
            res.username == username and res.comment.startswith(REOPEN_LEAD)
            for res in self.resolutions
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _instance(value: Any) -> int:
    text = _text(value).strip()
    return int(text) if text.isdigit() and int(text) > 0 else 1


def parse_export(answer: Any, *, classic: bool) -> list[DrwStatus]:
    """The module's export: an object keyed by status ID (``[]`` when there is none)."""
    if answer == []:
        return []
    if not isinstance(answer, dict):
        raise DrwShapeError("expected a JSON object keyed by status ID")
    statuses = []
    for status_id, raw in answer.items():
        if not isinstance(raw, dict) or not {"record", "event_id", "field_name"} <= set(raw):
            raise DrwShapeError("a status lacks record, event_id or field_name")
        resolutions_raw = raw.get("resolutions") or {}
        if isinstance(resolutions_raw, dict):
            resolutions_raw = list(resolutions_raw.values())
        if not isinstance(resolutions_raw, list) or not all(
            isinstance(r, dict) for r in resolutions_raw
        ):
            raise DrwShapeError("a status's resolutions are not objects")
        resolutions = sorted(
            (
                Resolution(
                    res_id=_text(r.get("res_id")),
                    ts=_text(r.get("ts"))[:19],
                    username=_text(r.get("username")),
                    comment=_text(r.get("comment")),
                    response_requested=_text(r.get("response_requested")) == "1",
                    response=_text(r.get("response")),
                    current_query_status=_text(r.get("current_query_status")),
                )
                for r in resolutions_raw
            ),
            key=lambda r: (r.ts, int(r.res_id) if r.res_id.isdigit() else 0),
        )
        key = DrwKey(
            record=_text(raw["record"]),
            event_id="" if classic else _text(raw["event_id"]),
            field=_text(raw["field_name"]),
            instance=_instance(raw.get("instance")),
        )
        statuses.append(
            DrwStatus(
                status_id=_text(raw.get("status_id") or status_id),
                key=key,
                query_status=_text(raw.get("query_status")),
                resolutions=tuple(resolutions),
            )
        )
    return statuses


# -- the worker's tag -------------------------------------------------------------------


def format_tag(open_checks: Mapping[str, str]) -> str:
    body = ",".join(f"{rule}={fp}" for rule, fp in sorted(open_checks.items())) or "-"
    return f"{TAG_PREFIX}{body}]"


def parse_tag(comment: str) -> dict[str, str] | None:
    match = _TAG.search(comment)
    if match is None:
        return None
    body = match.group(1)
    if body == "-":
        return {}
    tag: dict[str, str] = {}
    for part in body.split(","):
        rule, sep, fp = part.rpartition("=")
        if not sep or not rule:
            return None
        tag[rule] = fp
    return tag


# -- where a finding goes ---------------------------------------------------------------


class Places:
    """Finds each finding's DRW status key from the project's structure."""

    def __init__(self, schema: ProjectSchema) -> None:
        self.schema = schema
        self.classic = not schema.is_longitudinal
        self.event_ids: dict[str, str] = {}
        for event in schema.events:
            if event.event_id is not None:
                self.event_ids[event.unique_name] = str(event.event_id)
        self.event_names = {v: k for k, v in self.event_ids.items()}

    def missing_event_ids(self) -> list[str]:
        if self.classic:
            return []
        return [e.unique_name for e in self.schema.events if e.event_id is None]

    def key(self, finding: Finding) -> DrwKey:
        # A finding about a whole record (no field) goes on the record-ID field.
        field_name = finding.field or self.schema.record_id_field
        event_id = ""
        if not self.classic:
            event = finding.event or self._first_event(field_name)
            event_id = self.event_ids.get(event or "", "")
        return DrwKey(finding.record, event_id, field_name, finding.instance or 1)

    def event_name(self, key: DrwKey) -> str:
        return self.event_names.get(key.event_id, "")

    def _first_event(self, field_name: str) -> str | None:
        field_def = self.schema.fields.get(field_name)
        form = field_def.form if field_def is not None else None
        for event in self.schema.events:
            if form is None or form in self.schema.form_events.get(event.unique_name, ()):
                return event.unique_name
        return None


# -- planning ---------------------------------------------------------------------------

REOPEN_LEAD = "Found again. "
UPDATE_LEAD = "Values changed, still found. "


@dataclass(frozen=True)
class Pending:
    """A resolution planned and journaled by an earlier run, perhaps never confirmed."""

    ts: str
    query_status: str
    tag: str


@dataclass(frozen=True)
class PlannedResolution:
    action: Action
    key: DrwKey
    status_id: str  # "" for a status the import creates
    ts: str
    username: str
    comment: str
    query_status: str  # OPEN or CLOSED
    rules: tuple[str, ...]
    tag: str

    @property
    def response_requested(self) -> bool:
        return self.action is not Action.RESOLVE

    def pending(self) -> Pending:
        return Pending(self.ts, self.query_status, self.tag)


@dataclass
class DrwPlan:
    resolutions: list[PlannedResolution] = field(default_factory=list)
    unchanged: int = 0
    not_run: int = 0

    def count(self, action: Action) -> int:
        return sum(r.action is action for r in self.resolutions)


def _line(finding: Finding | None, rule: str) -> str:
    if finding is None:
        return f"{rule}: still open (not checked in this run)"
    return f"{finding.message} ({rule})"


def _ts_after(now: str, newest: str, not_before: str = "") -> str:
    """``now`` unless the thread already has a resolution at or after it: then one second
    after the newest one, so the status follows the new resolution."""
    ts = now
    for floor in (newest, not_before):
        if floor and ts <= floor:
            ts = (datetime.strptime(floor, TIMESTAMP_FORMAT) + ONE_SECOND).strftime(
                TIMESTAMP_FORMAT
            )
    return ts


def reconcile(
    statuses: Iterable[DrwStatus],
    findings: Iterable[Finding],
    *,
    places: Places,
    username: str,
    ran: Callable[[str, str], bool],
    now: str,
    pending: Mapping[DrwKey, Pending] | None = None,
    judged: Callable[[str], bool] | None = None,
) -> DrwPlan:
    """Plan the resolutions that bring the DRW in line with ``findings``.

    ``ran(record, rule)``: did the check run for that record in this run (queries of checks
    that did not run keep what they said). ``judged(record)``: was the record checked at all
    (statuses of other records are left alone). ``now``: REDCap server time. ``pending``:
    resolutions an earlier run planned; one that plans the same again reuses its timestamp.
    """
    pending = pending or {}
    judged = judged or (lambda record: True)
    by_key: dict[DrwKey, DrwStatus] = {}
    for given in statuses:
        by_key.setdefault(given.key, given)
    found: dict[DrwKey, dict[str, Finding]] = {}
    for finding in findings:
        found.setdefault(places.key(finding), {}).setdefault(finding.rule, finding)
    plan = DrwPlan()
    keys = set(found) | {
        k for k, s in by_key.items() if s.worker_tag(username) is not None and judged(k.record)
    }
    for key in sorted(keys):
        status = by_key.get(key)
        here = found.get(key, {})
        said = status.worker_tag(username) if status is not None else None
        said = said or {}
        wanted = {rule: fingerprint(f) for rule, f in here.items()}
        kept = {r: fp for r, fp in said.items() if not ran(key.record, r)}
        plan.not_run += len(kept)
        wanted |= {r: fp for r, fp in kept.items() if r not in wanted}
        planned = _decide(key, status, said, wanted, here, username)
        if planned is None:
            plan.unchanged += 1
            continue
        action, query_status, comment = planned
        tag = format_tag(wanted if query_status == OPEN else {})
        newest = status.newest_ts() if status is not None else ""
        earlier = pending.get(key)
        if earlier is not None and earlier.query_status == query_status and earlier.tag == tag:
            ts = earlier.ts if earlier.ts > newest else _ts_after(now, newest, earlier.ts)
        else:
            ts = _ts_after(now, newest, earlier.ts if earlier is not None else "")
        plan.resolutions.append(
            PlannedResolution(
                action=action,
                key=key,
                status_id=status.status_id if status is not None else "",
                ts=ts,
                username=username,
                comment=f"{comment}\n{tag}",
                query_status=query_status,
                rules=tuple(sorted(wanted if query_status == OPEN else said)),
                tag=tag,
            )
        )
    return plan


def _decide(
    key: DrwKey,
    status: DrwStatus | None,
    said: dict[str, str],
    wanted: dict[str, str],
    here: dict[str, Finding],
    username: str,
) -> tuple[Action, str, str] | None:
    """(action, new query status, comment without tag), or None: nothing to write."""
    lines = "\n".join(_line(here.get(rule), rule) for rule in sorted(wanted))
    if status is None or status.query_status == "":
        if not wanted:
            return None
        if status is not None and status.worker_tag(username) is not None:
            return Action.REOPEN, OPEN, REOPEN_LEAD + lines
        return Action.CREATE, OPEN, lines
    if status.is_closed:
        # Closed by anyone: it stays closed while every finding here is one the worker had
        # described with the same values (what the closer saw); anything else reopens it.
        if all(said.get(rule) == fp for rule, fp in wanted.items()):
            return None
        return Action.REOPEN, OPEN, REOPEN_LEAD + lines
    # Open (or de-verified).
    if wanted == said:
        return None
    if not wanted:
        rules = ", ".join(sorted(said))
        return (
            Action.RESOLVE,
            CLOSED,
            f"The data now pass {rules}: closed by the data quality worker.",
        )
    if not said:
        return Action.CREATE, OPEN, lines
    return Action.UPDATE, OPEN, UPDATE_LEAD + lines


def import_rows(
    plan: Iterable[PlannedResolution], *, project_id: int | str
) -> list[dict[str, Any]]:
    """The module's import payload: one status per resolution, each resolution new.

    A status the worker does not know yet goes with status ID ``0``: the module looks a
    status up by its ID *or* its record, event, field and instance, and with a blank ID its
    lookup query is malformed and it creates a second status every time. ``0`` matches no
    status, so the lookup by place finds one created by an earlier, interrupted import.
    """
    rows = []
    for res in plan:
        rows.append(
            {
                "status_id": res.status_id or "0",
                "project_id": str(project_id),
                "record": res.key.record,
                "event_id": res.key.event_id or "0",
                "field_name": res.key.field,
                "instance": res.key.instance,
                "repeat_instrument": None,
                "assigned_username": None,
                "resolutions": [
                    {
                        "status_id": "",
                        "ts": res.ts,
                        "username": res.username,
                        "comment": res.comment,
                        "response_requested": int(res.response_requested),
                        "response": None,
                        "current_query_status": res.query_status,
                    }
                ],
            }
        )
    return rows


# -- after the run ------------------------------------------------------------------------


def apply_plan(
    statuses: Iterable[DrwStatus], plan: Iterable[PlannedResolution]
) -> dict[DrwKey, DrwStatus]:
    """The statuses as the module holds them once ``plan`` is imported (each planned
    resolution is newer than the thread, so the status follows it)."""
    after = {s.key: s for s in statuses}
    for res in plan:
        before = after.get(res.key)
        new = Resolution(
            res_id="",
            ts=res.ts,
            username=res.username,
            comment=res.comment,
            response_requested=res.response_requested,
            current_query_status=res.query_status,
        )
        if before is None:
            after[res.key] = DrwStatus(res.status_id, res.key, res.query_status, (new,))
        else:
            after[res.key] = DrwStatus(
                before.status_id, res.key, res.query_status, (*before.resolutions, new)
            )
    return after


def as_queries(
    statuses: Mapping[DrwKey, DrwStatus],
    findings: Iterable[Finding],
    *,
    places: Places,
    username: str,
    to_utc: Callable[[str], datetime | None],
    describe: Callable[[str], tuple[Kind | None, Severity | None]],
) -> dict[str, list[Query]]:
    """Each record's worker queries as the summaries and the report read them: one per
    check and place, with status and age from the DRW (a person's close reads as verified).
    ``describe(rule)`` gives a check's kind and severity when no finding says them."""
    by_place: dict[tuple[DrwKey, str], Finding] = {}
    for finding in findings:
        by_place.setdefault((places.key(finding), finding.rule), finding)
    out: dict[str, list[Query]] = {}
    seen: set[tuple[DrwKey, str]] = set()

    def add(key: DrwKey, rule: str, fp: str, finding: Finding | None) -> None:
        if (key, rule) in seen:
            return
        seen.add((key, rule))
        status = statuses.get(key)
        if status is None:
            state, opened, reopens = Status.OPEN, None, 0
        else:
            opened = to_utc(status.opened_at()) if status.opened_at() else None
            reopens = status.reopen_count(username)
            if status.is_closed:
                state = Status.RESOLVED if status.closed_by() == username else Status.VERIFIED
            elif status.query_status in (OPEN, DEVERIFIED):
                state = Status.OPEN
            else:
                state = Status.RESOLVED
        kind, severity = (finding.kind, finding.severity) if finding else describe(rule)
        field_def = places.schema.fields.get(key.field)
        out.setdefault(key.record, []).append(
            Query(
                instance=key.instance,
                query_id=query_id(finding) if finding else _place_id(key, rule),
                rule=rule,
                status=state,
                fingerprint=fp,
                message=finding.message if finding else "",
                reopen_count=reopens,
                verified=state is Status.VERIFIED,
                kind=kind,
                severity=severity,
                event=places.event_name(key),
                form=field_def.form if field_def is not None else "",
                form_instance=finding.instance if finding else None,
                field=key.field,
                opened_at=opened,
            )
        )

    for (key, rule), finding in by_place.items():
        add(key, rule, fingerprint(finding), finding)
    for key, status in statuses.items():
        if status.is_closed or status.query_status not in (OPEN, DEVERIFIED):
            continue
        for rule, fp in (status.worker_tag(username) or {}).items():
            add(key, rule, fp, None)
    return out


def _place_id(key: DrwKey, rule: str) -> str:
    return digest([rule, key.record, key.event_id, key.instance, key.field])
