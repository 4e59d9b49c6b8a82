"""The state folder's JSON documents as typed records, each carrying its format version.

Each document the worker keeps in its state folder is one record type: ``FILE`` names it,
``FORMAT`` is the version this code writes, and ``to_json``/``from_json`` are the one place
it is converted. The records of the state folder itself are here; the notifier's ledger
(``worker.notify.plan.Ledger``), the failure streak (``worker.notify.failures.Streak``) and
the DRW journal (``worker.drw_sync.JournalRecord``) live beside the code that owns them and
keep the same contract. ``StateDir.read_record`` and ``write_record`` read and write them.

Which documents are read (``decode``), deliberately:

- ``"format": FORMAT``: read by ``from_json``.
- no ``format`` at all: written before documents carried a version; read as format 1 by
  ``from_unversioned``, which accepts what that code wrote (its shapes, its leniency).
- a format newer than this code knows: ``NewerFormat``. Never guessed at: the file is set
  aside under a name that says so, and ``health`` names it until someone has looked.
- anything else (a wrong shape, a timestamp without offset, an unknown older format):
  ``StateFormatError``, a damaged file, set aside as every damaged file is.

When a record's format changes, its ``FORMAT`` goes up and ``decode`` gains the step from
the older one: a file written by the previous worker is then read, not set aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, Self, TypeVar

FORMAT_KEY = "format"


class StateFormatError(ValueError):
    """A state document that is not a record this code can read (a damaged file)."""


class NewerFormat(StateFormatError):
    """A state document written by a newer worker, in a format this code does not know."""

    def __init__(self, file: str, found: int, known: int) -> None:
        super().__init__(f"{file}: format {found}, newer than this worker's {known}")
        self.found = found
        self.known = known


class StateRecord(Protocol):
    FILE: ClassVar[str]
    FORMAT: ClassVar[int]

    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self: ...

    @classmethod
    def from_unversioned(cls, value: object) -> Self: ...


R = TypeVar("R", bound=StateRecord)


def encode(record: StateRecord) -> dict[str, Any]:
    """The document to write: the record's JSON under its format version."""
    return {FORMAT_KEY: record.FORMAT} | record.to_json()


def decode(kind: type[R], value: object) -> R:
    """The record ``value`` (a parsed JSON document) holds; see the module's rules."""
    if not isinstance(value, dict) or FORMAT_KEY not in value:
        return kind.from_unversioned(value)
    found = value[FORMAT_KEY]
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise StateFormatError(f"format {found!r} is not a format version")
    if found > kind.FORMAT:
        raise NewerFormat(kind.FILE, found, kind.FORMAT)
    if found < kind.FORMAT:
        raise StateFormatError(
            f"format {found} is no longer read (this worker writes {kind.FORMAT})"
        )
    return kind.from_json(value)


# -- explicit conversion of values ---------------------------------------------------------


def fields(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise StateFormatError(f"{what}: JSON {type(value).__name__}, not an object")
    return value


def text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise StateFormatError(f"{what}: {type(value).__name__}, not text")
    return value


def optional_text(value: object, what: str) -> str | None:
    return None if value is None else text(value, what)


def whole(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateFormatError(f"{what}: {value!r} is not a whole number")
    return value


def number(value: object, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise StateFormatError(f"{what}: {value!r} is not a number")
    return float(value)


def texts(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StateFormatError(f"{what}: not a list of text")
    return list(value)


def moment(value: object, what: str) -> datetime:
    """A timestamp as the worker writes it: ISO 8601 with an offset. A naive one is not
    ours to compare with aware times: damaged, like any other unreadable one."""
    try:
        when = datetime.fromisoformat(text(value, what))
    except ValueError:
        raise StateFormatError(f"{what}: {value!r} is not a timestamp") from None
    if when.tzinfo is None:
        raise StateFormatError(f"{what}: {value!r} has no UTC offset")
    return when


def optional_moment(value: object, what: str) -> datetime | None:
    return None if value is None else moment(value, what)


def moment_json(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


# -- the records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """When the last successful (non-``records``) sync started: incremental runs ask REDCap
    for what changed since, less an overlap."""

    FILE: ClassVar[str] = "cursor.json"
    FORMAT: ClassVar[int] = 1

    last_success_started_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"last_success_started_at": self.last_success_started_at.isoformat()}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls(moment(document.get("last_success_started_at"), "last_success_started_at"))

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        return cls.from_json(fields(value, cls.FILE))


@dataclass(frozen=True)
class SavedStructure:
    """The project structure a sync read, for incremental runs to reuse (``schema`` as
    ``ProjectSchema.to_json`` writes it; parsed only by the run that reuses it)."""

    FILE: ClassVar[str] = "structure.json"
    FORMAT: ClassVar[int] = 1

    url: str
    read_at: datetime
    schema: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "read_at": self.read_at.isoformat(), "schema": self.schema}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls(
            url=text(document.get("url"), "url"),
            read_at=moment(document.get("read_at"), "read_at"),
            schema=dict(fields(document.get("schema"), "schema")),
        )

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        return cls.from_json(fields(value, cls.FILE))

    @property
    def title(self) -> str:
        title = self.schema.get("title")
        return title if isinstance(title, str) else ""


SENT_KEYS_LIMIT = 5000


@dataclass(frozen=True)
class SentKeys:
    """Keys of the summaries sent (the newest ``SENT_KEYS_LIMIT``), so none goes out twice."""

    FILE: ClassVar[str] = "sent.json"
    FORMAT: ClassVar[int] = 1

    keys: tuple[str, ...] = ()

    def with_key(self, key: str) -> SentKeys:
        keys = self.keys if key in self.keys else (*self.keys, key)
        return SentKeys(keys[-SENT_KEYS_LIMIT:])

    def to_json(self) -> dict[str, Any]:
        return {"keys": list(self.keys)}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls(tuple(texts(document.get("keys"), "keys")))

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        # The previous code wrote a bare list, and skipped anything in it not a key.
        if not isinstance(value, list):
            raise StateFormatError(f"{cls.FILE}: JSON {type(value).__name__}, not a list")
        return cls(tuple(key for key in value if isinstance(key, str)))


RunStatus = str  # ok, degraded, incomplete, failed, stopped (see worker.jobs.JobOutcome)


@dataclass(frozen=True)
class RunRecord:
    """One sync run, as the history keeps it. ``counts`` are the run's numbers (findings,
    query writes by action, records checked, summaries failed); a failed or stopped run
    has none, and ``error`` names the exception's class (never its text)."""

    run_id: str
    mode: str  # full, incremental, records
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    duration_s: float
    error: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    quarantined: Mapping[str, str] = field(default_factory=dict)  # check ID -> why
    degraded: tuple[str, ...] = ()  # why the run is no clean bill of health, one line each

    @property
    def succeeded(self) -> bool:
        """Its writes were done: ``ok``, or ``degraded`` (a check quarantined or erring)."""
        return self.status in ("ok", "degraded")

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_s": self.duration_s,
            "error": self.error,
            "counts": dict(self.counts),
            "quarantined": dict(self.quarantined),
            "degraded": list(self.degraded),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        counts = fields(document.get("counts", {}), "counts")
        quarantined = fields(document.get("quarantined", {}), "quarantined")
        return cls(
            run_id=text(document.get("run_id"), "run_id"),
            mode=text(document.get("mode"), "mode"),
            status=text(document.get("status"), "status"),
            started_at=moment(document.get("started_at"), "started_at"),
            finished_at=moment(document.get("finished_at"), "finished_at"),
            duration_s=number(document.get("duration_s", 0), "duration_s"),
            error=optional_text(document.get("error"), "error"),
            counts={key: whole(n, f"counts.{key}") for key, n in counts.items()},
            quarantined={key: text(why, f"quarantined.{key}") for key, why in quarantined.items()},
            degraded=tuple(texts(document.get("degraded", []), "degraded")),
        )

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        """A history line as the previous code wrote it: the counts beside the other keys."""
        entry = fields(value, "run")
        known = {"run_id", "mode", "status", "started_at", "finished_at", "duration_s"}
        known |= {"error", "quarantined", "degraded"}
        counts = {key: n for key, n in entry.items() if key not in known}
        return cls.from_json(
            {key: entry[key] for key in known if key in entry} | {"counts": counts}
        )


HISTORY_LIMIT = 200


@dataclass(frozen=True)
class RunHistory:
    """The last ``HISTORY_LIMIT`` runs, oldest first."""

    FILE: ClassVar[str] = "history.json"
    FORMAT: ClassVar[int] = 1

    runs: tuple[RunRecord, ...] = ()

    def with_run(self, run: RunRecord) -> RunHistory:
        return RunHistory((*self.runs, run)[-HISTORY_LIMIT:])

    def to_json(self) -> dict[str, Any]:
        return {"runs": [run.to_json() for run in self.runs]}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        runs = document.get("runs")
        if not isinstance(runs, list):
            raise StateFormatError("runs: not a list")
        return cls(tuple(RunRecord.from_json(fields(run, "run")) for run in runs))

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        # The previous code wrote a bare list and skipped the entries it could not use: a
        # damaged line costs at most a full sync at start-up.
        if not isinstance(value, list):
            raise StateFormatError(f"{cls.FILE}: JSON {type(value).__name__}, not a list")
        runs = []
        for entry in value:
            try:
                runs.append(RunRecord.from_unversioned(entry))
            except StateFormatError:
                continue
        return cls(tuple(runs))


@dataclass(frozen=True)
class Heartbeat:
    """What ``health`` judges: the last run's end and status, and the last success's end."""

    FILE: ClassVar[str] = "heartbeat.json"
    FORMAT: ClassVar[int] = 1

    last_run_at: datetime | None = None
    last_status: RunStatus | None = None
    last_success_at: datetime | None = None

    def after(self, run: RunRecord) -> Heartbeat:
        success = run.finished_at if run.status == "ok" else self.last_success_at
        return Heartbeat(run.finished_at, run.status, success)

    def to_json(self) -> dict[str, Any]:
        return {
            "last_run_at": moment_json(self.last_run_at),
            "last_status": self.last_status,
            "last_success_at": moment_json(self.last_success_at),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls(
            last_run_at=optional_moment(document.get("last_run_at"), "last_run_at"),
            last_status=optional_text(document.get("last_status"), "last_status"),
            last_success_at=optional_moment(document.get("last_success_at"), "last_success_at"),
        )

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        return cls.from_json(fields(value, cls.FILE))
