"""Data queries in REDCap: each finding is one instance of a repeating query instrument.

Pure reconciliation: given a record's existing queries and the findings of this run, plan
the writes that bring REDCap in line. The lifecycle (protocol, "Queries written back"):

- a finding with no query            -> CREATE, Open
- an Open query whose finding is gone -> RESOLVE, closing time set
- a Resolved query whose finding is back -> REOPEN, reopen count + 1
- an Open query the site marked verified -> VERIFY (closed while the values stay the same)
- a Verified query whose values changed and whose finding persists -> REOPEN, verified mark
  cleared
- an Open query whose finding persists on changed values -> UPDATE message and fingerprint
  (so that a later verification is of the values the site actually saw)

A query's identity depends only on check, record, event, instance and field; its
fingerprint only on the values the check read. Nothing else is written, so an unchanged
project plans no write at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

from worker.core.arms import own_event
from worker.core.findings import Finding, Kind, Severity
from worker.core.mapping import QueriesSpec
from worker.core.records import PSEUDO_FIELDS, RecordData, RowKey
from worker.core.schema import ProjectSchema
from worker.errors import MappingError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # REDCap's datetime_seconds_ymd


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    VERIFIED = "verified"


class Action(StrEnum):
    CREATE = "create"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    VERIFY = "verify"
    UPDATE = "update"


def query_id(finding: Finding) -> str:
    """Stable identity from check, record, event, instance and field only."""
    parts = [finding.rule, finding.record, finding.event or "", finding.instance, finding.field]
    return digest(parts)


def fingerprint(finding: Finding) -> str:
    """A digest of the values the check read: a change means the data behind it changed."""
    return digest(sorted(finding.evidence.items()))


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _timestamp(text: str) -> datetime | None:
    """A stamp the worker wrote (UTC, REDCap's format); None when blank or edited out of shape."""
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


# json.dumps(value, separators=(",", ":"), default=str), without building an encoder for
# each of the two digests of every finding.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), default=str)


def digest(value: object) -> str:
    """A short stable digest of a JSON-able value: the identities queries are matched by."""
    text = _COMPACT_JSON.encode(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Query:
    """An existing query instance, as read from REDCap."""

    instance: int
    query_id: str
    rule: str
    status: Status
    fingerprint: str
    message: str
    reopen_count: int
    verified: bool
    # Where the finding is and when the query was opened (summaries and reports read these;
    # None/blank where the row lacks them or holds an unknown code).
    kind: Kind | None = None
    severity: Severity | None = None
    event: str = ""
    form: str = ""
    form_instance: int | None = None
    field: str = ""
    opened_at: datetime | None = None  # UTC

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    def days_open(self, now: datetime) -> int | None:
        """Whole days since the query was opened (None if the row does not say when)."""
        if self.opened_at is None:
            return None
        return max((now.date() - self.opened_at.date()).days, 0)

    @property
    def occurrence(self) -> str:
        """One raising of this query: a reopened query (or one created again after its row
        was deleted) is a new occurrence, so each is announced once in summaries."""
        opened = "" if self.opened_at is None else self.opened_at.strftime("%Y%m%dT%H%M%S")
        return f"{self.query_id}/{opened}/{self.reopen_count}"


@dataclass(frozen=True)
class Change:
    action: Action
    record: str
    instance: int
    query_id: str
    rule: str
    row: dict[str, str | int]
    # The finding a CREATE or REOPEN describes: its kind and severity as the run knows them
    # (the row holds them as REDCap codes; they are decoded only from rows read back).
    kind: Kind | None = None
    severity: Severity | None = None


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    not_run: int = 0

    def extend(self, other: Plan) -> None:
        self.changes.extend(other.changes)
        self.unchanged += other.unchanged
        self.not_run += other.not_run

    def count(self, action: Action) -> int:
        return sum(c.action is action for c in self.changes)


class QueryBook:
    """Reads and writes one study's query instrument, as the mapping names it."""

    def __init__(self, spec: QueriesSpec, schema: ProjectSchema) -> None:
        self.spec = spec
        self.schema = schema
        self.f = spec.fields
        self._status_by_code = {code: Status(label) for label, code in spec.codes.status.items()}
        self._kind_by_code = {code: Kind(label) for label, code in spec.codes.kind.items()}
        self._severity_by_code = {
            code: Severity(label) for label, code in spec.codes.severity.items()
        }
        # A written row's fields that are not values of the query instrument.
        self._not_stored = PSEUDO_FIELDS | {schema.record_id_field}
        # Each stamp parsed once: a run writes one opening time on all the queries it opens.
        self._stamps: dict[str, datetime | None] = {}

    def event_of(self, record: RecordData) -> str | None:
        """The query event of the record's own arm (``queries.event`` may name a visit): the
        one already holding its queries, else the one in the arm its rows are in. Never
        another arm's: writing there would put the record into that arm."""
        name = self.spec.event
        if name is None or not self.schema.is_longitudinal:
            return None
        candidates = self.schema.events_of_visit(name)
        if len(candidates) == 1:
            return candidates[0]
        for event in candidates:
            if record.instances(event, self.spec.form):
                return event
        own = own_event(self.schema, name, record)
        if own is None:
            who = record.record_id
            raise MappingError(f"record {who}: none of its arms has the query event '{name}'")
        return own

    def _at(self, record: RecordData, event: str | None) -> str | None:
        return event if event is not None else self.event_of(record)

    def read(
        self,
        record: RecordData,
        *,
        event: str | None = None,
        described: dict[int, Change] | None = None,
    ) -> list[Query]:
        """The record's queries, by instance; rows without a query ID are not ours.
        ``event``: the record's query event when the caller knows it (``event_of``).
        ``described``: changes by instance whose finding's kind and severity the query
        keeps (see ``after``)."""
        event = self._at(record, event)
        described = described or {}
        queries = []
        for k in record.instances(event, self.spec.form):
            row = record.row(event, k, self.spec.form) or {}
            qid = row.get(self.f.id, "")
            if not qid:
                continue
            count = row.get(self.f.reopen_count, "")
            typed = described.get(k)
            queries.append(
                Query(
                    instance=k,
                    query_id=qid,
                    rule=row.get(self.f.rule, ""),
                    # An unknown or blank status counts as open: the safe reading.
                    status=self._status_by_code.get(row.get(self.f.status, ""), Status.OPEN),
                    fingerprint=row.get(self.f.fingerprint, ""),
                    message=row.get(self.f.message, ""),
                    reopen_count=int(count) if count.isdigit() else 0,
                    verified=row.get(self.f.verified, "") == self.spec.codes.verified_yes,
                    kind=(
                        self._kind_by_code.get(row.get(self.f.kind, ""))
                        if typed is None
                        else typed.kind
                    ),
                    severity=(
                        self._severity_by_code.get(row.get(self.f.severity, ""))
                        if typed is None
                        else typed.severity
                    ),
                    event=row.get(self.f.event, ""),
                    form=row.get(self.f.instrument, ""),
                    form_instance=_int_or_none(row.get(self.f.instance, "")),
                    field=row.get(self.f.field, ""),
                    opened_at=self._timestamp(row.get(self.f.opened_at, "")),
                )
            )
        return queries

    def _timestamp(self, text: str) -> datetime | None:
        if text not in self._stamps:
            self._stamps[text] = _timestamp(text)
        return self._stamps[text]

    def after(
        self, record: RecordData, changes: Iterable[Change], *, event: str | None = None
    ) -> list[Query]:
        """The record's queries as they stand once ``changes`` (this record's) are written:
        what a summary of the run reports, without reading REDCap again. A query this run
        describes keeps its finding's kind and severity as they are, not decoded from the
        codes written for REDCap."""
        event = self._at(record, event)
        rows = {key: dict(values) for key, values in record.rows.items()}
        described: dict[int, Change] = {}
        for change in changes:
            row = rows.setdefault(RowKey(event, self.spec.form, change.instance), {})
            row.update(
                {
                    name: str(value)
                    for name, value in change.row.items()
                    if name not in self._not_stored
                }
            )
            if change.kind is not None:
                described[change.instance] = change
        after = RecordData(record.record_id, rows, record.data_access_group)
        return self.read(after, event=event, described=described)

    def next_instance(self, record: RecordData, *, event: str | None = None) -> int:
        event = self._at(record, event)
        return max(record.instances(event, self.spec.form), default=0) + 1

    def reconcile(
        self,
        record: RecordData,
        findings: Iterable[Finding],
        *,
        ran: Callable[[str], bool],
        now: datetime,
        event: str | None = None,
    ) -> Plan:
        """Plan the writes for one record. ``ran(rule)`` says whether a check ran for this
        record in this run; queries of checks that did not run are left alone. ``event``:
        the record's query event when the caller knows it (``event_of``)."""
        event = self._at(record, event)
        plan = Plan()
        existing: dict[str, Query] = {}
        for stored in self.read(record, event=event):
            existing.setdefault(stored.query_id, stored)  # a duplicate ID: the first one rules
        stamp = now.strftime(TIMESTAMP_FORMAT)
        next_instance = self.next_instance(record, event=event)
        change = partial(self._change, record=record, event=event)
        seen: set[str] = set()
        for finding in findings:
            qid = query_id(finding)
            if qid in seen:
                continue
            seen.add(qid)
            query = existing.get(qid)
            fp = fingerprint(finding)
            if query is None:
                row = self._describe(finding, qid, fp)
                row |= {
                    self.f.status: self._code(Status.OPEN),
                    self.f.opened_at: stamp,
                    self.f.reopen_count: "0",
                }
                plan.changes.append(change(Action.CREATE, next_instance, qid, row, finding))
                next_instance += 1
            elif query.status is Status.OPEN and query.verified:
                row = {
                    self.f.status: self._code(Status.VERIFIED),
                    self.f.closed_at: stamp,
                    self.f.fingerprint: fp,
                }
                plan.changes.append(change(Action.VERIFY, query.instance, qid, row))
            elif query.status is Status.OPEN:
                if query.fingerprint == fp and query.message == finding.message:
                    plan.unchanged += 1
                    continue
                row = {self.f.fingerprint: fp, self.f.message: finding.message}
                plan.changes.append(change(Action.UPDATE, query.instance, qid, row))
            elif query.status is Status.VERIFIED and query.fingerprint == fp:
                plan.unchanged += 1
            else:  # resolved and back, or verified but on changed values
                row = self._describe(finding, qid, fp) | {
                    self.f.status: self._code(Status.OPEN),
                    self.f.closed_at: "",
                    self.f.reopen_count: str(query.reopen_count + 1),
                }
                if query.verified:
                    row[self.f.verified] = ""
                plan.changes.append(change(Action.REOPEN, query.instance, qid, row, finding))
        for qid, query in existing.items():
            if qid in seen:
                continue
            if not ran(query.rule):
                plan.not_run += 1
            elif query.status is Status.OPEN:
                row = {self.f.status: self._code(Status.RESOLVED), self.f.closed_at: stamp}
                plan.changes.append(change(Action.RESOLVE, query.instance, qid, row))
            else:
                plan.unchanged += 1
        return plan

    def _describe(self, finding: Finding, qid: str, fp: str) -> dict[str, str]:
        codes = self.spec.codes
        return {
            self.f.id: qid,
            self.f.rule: finding.rule,
            self.f.kind: codes.kind[finding.kind.value],
            self.f.severity: codes.severity[finding.severity.value],
            self.f.event: finding.event or "",
            self.f.instrument: finding.instrument or "",
            self.f.instance: "" if finding.instance is None else str(finding.instance),
            self.f.field: finding.field or "",
            self.f.message: finding.message,
            self.f.fingerprint: fp,
        }

    def _code(self, status: Status) -> str:
        return self.spec.codes.status[status.value]

    def _change(
        self,
        action: Action,
        instance: int,
        qid: str,
        fields: dict[str, str],
        finding: Finding | None = None,
        *,
        record: RecordData,
        event: str | None,
    ) -> Change:
        row: dict[str, str | int] = {self.schema.record_id_field: record.record_id}
        if self.schema.is_longitudinal:
            row["redcap_event_name"] = event or ""
        # An explicit instance number makes a retried write land on the same instance.
        row |= {"redcap_repeat_instrument": self.spec.form, "redcap_repeat_instance": instance}
        row |= fields
        rule = str(fields.get(self.f.rule, "")) or self._rule_of(record, event, instance)
        if finding is None:
            return Change(action, record.record_id, instance, qid, rule, row)
        return Change(
            action, record.record_id, instance, qid, rule, row, finding.kind, finding.severity
        )

    def _rule_of(self, record: RecordData, event: str | None, instance: int) -> str:
        row = record.row(event, instance, self.spec.form) or {}
        return row.get(self.f.rule, "")
