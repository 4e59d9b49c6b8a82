"""The sandbox's data: records held in memory, optionally mirrored to a JSON state file.

A record is a set of *slots*, one per flat-export row: ``(event, repeat_instrument,
instance)``, with ``("", "", None)`` the classic base row, ``(event, "", None)`` an event's base
row, ``(event, "", n)`` instance n of a repeating event and ``(event, form, n)`` instance n of a
repeating instrument. A slot holds only stored values, keyed by export column name (checked
checkboxes as ``field___code: "1"``); blanks and defaults are the export's business.

Every change is stamped with the clock (to the second, like REDCap's log) and logged, which
drives ``dateRangeBegin/End`` and ``content=log``. One re-entrant lock guards everything; the
API layer holds it across validate-then-write so an import is atomic.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.sandbox.clock import Clock
from worker.sandbox.drw import DrwData
from worker.sandbox.project import Column, ProjectDef

SlotKey = tuple[str, str, int | None]
STATE_FORMAT = "redcap-sandbox-state"
STATE_VERSION = 1


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """PHP natcasesort order for record names: ``2`` before ``10``, case-insensitive."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


@dataclass
class StoredRecord:
    slots: dict[SlotKey, dict[str, str]] = field(default_factory=dict)
    dag: str = ""
    changes: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class LogEvent:
    """One line of REDCap's logging, for record changes only."""

    ts: datetime
    username: str
    kind: str  # "create" | "update" | "delete"
    record: str
    details: str


@dataclass(frozen=True)
class SlotWrite:
    """Values for one slot from one import row; ``""`` means blank (erases under overwrite)."""

    record: str
    key: SlotKey
    values: dict[str, str]


@dataclass
class WritePlan:
    """A validated import, ready to apply in one go."""

    records: list[str] = field(default_factory=list)  # as REDCap counts them: distinct, in order
    writes: list[SlotWrite] = field(default_factory=list)
    dags: dict[str, str] = field(default_factory=dict)  # record -> unique group name


def _detail(column: Column, value: str) -> str:
    """One change as REDCap's log details word it: ``f = '1'``, ``box(2) = checked``."""
    if column.kind == "checkbox" and column.field is not None:
        return f"{column.field.name}({column.code}) = {'checked' if value else 'unchecked'}"
    return f"{column.name} = '{value}'"


class Store:
    def __init__(
        self,
        project: ProjectDef,
        clock: Clock,
        state_file: str | Path | None = None,
        username: str = "sandbox_api",
    ) -> None:
        self.project = project
        self.clock = clock
        self.state_file = Path(state_file) if state_file else None
        self.username = username
        self.lock = threading.RLock()
        self.records: dict[str, StoredRecord] = {}
        self.log: list[LogEvent] = []
        self.drw = DrwData()  # the Data Quality API module's switches and DRW tables

    # -- reading ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now().replace(microsecond=0)

    def record_names(self) -> list[str]:
        with self.lock:
            return sorted(self.records, key=natural_key)

    def __contains__(self, record: object) -> bool:
        return record in self.records

    def __len__(self) -> int:
        return len(self.records)

    def max_instance(self, record: str, event: str, repeat_instrument: str) -> int:
        rec = self.records.get(record)
        if rec is None:
            return 0
        return max(
            (
                inst
                for (ev, ri, inst) in rec.slots
                if ev == event and ri == repeat_instrument and inst is not None
            ),
            default=0,
        )

    def changed_between(self, record: str, begin: datetime | None, end: datetime | None) -> bool:
        """True if the record has a logged change inside [begin, end] (both inclusive)."""
        return any(
            (begin is None or ts >= begin) and (end is None or ts <= end)
            for ts in self.records[record].changes
        )

    def next_record_name(self) -> str:
        """REDCap's auto-numbering: one more than the largest all-digit record name."""
        with self.lock:
            numbers = [int(name) for name in self.records if name.isdigit()]
            return str(max(numbers, default=0) + 1)

    # -- writing ---------------------------------------------------------------------------

    def apply(self, plan: WritePlan, *, overwrite: bool) -> list[str]:
        """Write a validated plan; returns the records whose stored data actually changed."""
        with self.lock:
            when = self.now()
            by_record: dict[str, list[SlotWrite]] = {name: [] for name in plan.records}
            for write in plan.writes:
                by_record.setdefault(write.record, []).append(write)
            changed: list[str] = []
            for name, writes in by_record.items():
                created = name not in self.records
                rec = self.records.setdefault(name, StoredRecord())
                details: list[str] = []
                for i, write in enumerate(writes):
                    details.extend(self._write_slot(rec, write, overwrite, created and i == 0))
                dag = plan.dags.get(name)
                if dag is not None and dag != rec.dag:
                    rec.dag = dag
                    details.append(f"redcap_data_access_group = '{dag}'")
                if created or details:
                    rec.changes.append(when)
                    kind = "create" if created else "update"
                    self.log.append(LogEvent(when, self.username, kind, name, ", ".join(details)))
                    changed.append(name)
            if changed:
                self.save()
            return changed

    def _write_slot(
        self, rec: StoredRecord, write: SlotWrite, overwrite: bool, new_record: bool
    ) -> list[str]:
        columns = self.project.columns
        new_slot = write.key not in rec.slots
        slot = rec.slots.setdefault(write.key, {})
        details: list[str] = []
        if new_record:
            details.append(f"{self.project.record_id_field} = '{write.record}'")
        forms_given_data: set[str] = set()
        for name, raw in write.values.items():
            column = columns[name]
            if column.kind == "id":
                continue
            # An unchecked box is REDCap's absence of a value, not a stored "0".
            value = "" if column.kind == "checkbox" and raw == "0" else raw
            if value == "":
                if overwrite and name in slot:
                    del slot[name]
                    details.append(_detail(column, ""))
                continue
            if column.kind != "status":
                forms_given_data.add(column.form)
            if slot.get(name) != value:
                slot[name] = value
                details.append(_detail(column, value))
        # REDCap marks a form Incomplete (0) once data is saved on it without a status.
        for form in sorted(forms_given_data):
            status = f"{form}_complete"
            if status not in slot:
                slot[status] = "0"
                details.append(f"{status} = '0'")
        if new_slot and not details:
            # A new (empty) row for an existing record is still a change: it will be exported.
            details.append(f"{self.project.record_id_field} = '{write.record}'")
        instance = write.key[2]
        if details and instance is not None and instance > 1:
            details.insert(0, f"[instance = {instance}]")
        return details

    def delete(
        self,
        records: Iterable[str],
        *,
        event: str | None = None,
        form: str | None = None,
        instance: int | None = None,
    ) -> int:
        """Delete whole records, or only an event / instrument / instance of them."""
        with self.lock:
            when = self.now()
            count = 0
            partial = event is not None or form is not None or instance is not None
            for name in records:
                rec = self.records[name]
                if partial:
                    self._delete_part(rec, event, form, instance)
                if not partial or not rec.slots:
                    del self.records[name]
                    self.log.append(LogEvent(when, self.username, "delete", name, ""))
                else:
                    rec.changes.append(when)
                    what = ", ".join(
                        f"{k} = '{v}'"
                        for k, v in (("event", event), ("instrument", form), ("instance", instance))
                        if v is not None
                    )
                    self.log.append(LogEvent(when, self.username, "update", name, f"delete {what}"))
                count += 1
            if count:
                self.save()
            return count

    def _delete_part(
        self, rec: StoredRecord, event: str | None, form: str | None, instance: int | None
    ) -> None:
        form_columns = (
            {c.name for c in self.project.columns.values() if c.form == form and c.kind != "id"}
            if form
            else set()
        )
        for key in list(rec.slots):
            ev, ri, inst = key
            if event is not None and ev != event:
                continue
            if instance is not None and (inst or 1) != instance:
                continue
            if form is None or ri == form:
                del rec.slots[key]
            elif ri == "":
                for name in form_columns:
                    rec.slots[key].pop(name, None)

    # -- persistence -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "project_id": self.project.info.get("project_id"),
                "records": [
                    {
                        "record": name,
                        "dag": rec.dag,
                        "changes": [ts.isoformat(sep=" ") for ts in rec.changes],
                        "slots": [
                            {"event": ev, "repeat_instrument": ri, "instance": inst, "values": vals}
                            for (ev, ri, inst), vals in rec.slots.items()
                        ],
                    }
                    for name, rec in self.records.items()
                ],
                "log": [
                    {
                        "ts": e.ts.isoformat(sep=" "),
                        "username": e.username,
                        "kind": e.kind,
                        "record": e.record,
                        "details": e.details,
                    }
                    for e in self.log
                ],
                "drw": self.drw.to_state(),
            }

    def save(self) -> None:
        """Write the state file atomically (temp file in the same folder, then os.replace)."""
        if self.state_file is None:
            return
        with self.lock:
            text = json.dumps(self.to_state(), ensure_ascii=False, separators=(",", ":"))
            folder = self.state_file.parent
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.state_file.name}.", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.state_file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def load(self) -> None:
        """Replace the in-memory data with the state file's."""
        assert self.state_file is not None
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read state file {self.state_file}: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ConfigError(f"{self.state_file} is not a sandbox state file")
        if state.get("project_id") != self.project.info.get("project_id"):
            raise ConfigError(
                f"state file {self.state_file} belongs to project {state.get('project_id')}, "
                f"not {self.project.info.get('project_id')}"
            )
        columns = self.project.columns
        records: dict[str, StoredRecord] = {}
        for item in state.get("records", []):
            rec = StoredRecord(
                dag=item.get("dag", ""),
                changes=[datetime.fromisoformat(ts) for ts in item.get("changes", [])],
            )
            for slot in item.get("slots", []):
                unknown = set(slot["values"]) - set(columns)
                if unknown:
                    raise ConfigError(
                        f"state file {self.state_file} holds columns the project lacks: "
                        + ", ".join(sorted(unknown))
                    )
                key = (slot["event"], slot["repeat_instrument"], slot["instance"])
                rec.slots[key] = dict(slot["values"])
            records[item["record"]] = rec
        log = [
            LogEvent(
                datetime.fromisoformat(e["ts"]), e["username"], e["kind"], e["record"], e["details"]
            )
            for e in state.get("log", [])
        ]
        with self.lock:
            self.records = records
            self.log = log
            self.drw = DrwData.from_state(state.get("drw") or {})
