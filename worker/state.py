"""The worker's state folder: sync cursor, unsent summaries, run history, heartbeat.

Each JSON document in it is a typed record with a format version (``worker.state_records``);
``read_record`` and ``write_record`` are the way in and out. A document written by a newer
worker (a format this code does not know) is never misread: it is set aside as
``<name>.newer-format-<N>-<UTC time>``, a warning says so, and ``health`` names it until
someone has looked and removed it.

Every write is atomic (a temporary file in the same folder, flushed, then renamed over the
old one), so a crash or a full disk leaves either the old state or the new, never half.
A lost state folder costs one full sync, never a wrong one: nothing here is the only copy
of anything REDCap holds. So a damaged file (not JSON, JSON of the wrong shape, a folder
where the file belongs, unreadable) is never fatal: it is set aside as
``<name>.damaged-<UTC time>`` for someone to look at, a warning says so, and the run goes
on as if it were absent.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no cross-process lock
    fcntl = None  # type: ignore[assignment]

import structlog
from pydantic import ValidationError

from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, SyncBusy
from worker.state_records import (
    Cursor,
    Heartbeat,
    NewerFormat,
    RunHistory,
    RunRecord,
    SavedStructure,
    SentKeys,
    StateFormatError,
    StateRecord,
    decode,
    encode,
)

log = structlog.get_logger(__name__)

R = TypeVar("R", bound=StateRecord)
NEWER_FORMAT = "newer-format"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


_ABSENT = object()


def utc_now() -> datetime:
    return datetime.now(UTC)


class StateDir:
    """One folder; the files in it are small JSON documents and queued ``.eml`` messages."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"state_dir: cannot create {self.path}: {exc.strerror}") from None

    # -- generic -------------------------------------------------------------------------

    def _document(self, name: str) -> Any:
        """The parsed JSON of ``name``, or ``_ABSENT`` (missing, or damaged and set aside:
        never fatal, since losing state means doing more work, not wrong work)."""
        path = self.path / name
        try:
            return json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return _ABSENT
        except IsADirectoryError:
            self.set_aside(name, "a folder is where the file belongs")
        except OSError as exc:
            self.set_aside(name, f"unreadable: {exc.strerror}")
        except ValueError:  # not UTF-8, not JSON
            self.set_aside(name, "not JSON")
        return _ABSENT

    def read_record(self, kind: type[R]) -> R | None:
        """The record in ``kind.FILE``, or None when it is absent, damaged or of a newer
        format; the last two are set aside (see ``worker.state_records``)."""
        value = self._document(kind.FILE)
        if value is _ABSENT:
            return None
        try:
            return decode(kind, value)
        except NewerFormat as exc:
            self.set_aside(
                kind.FILE,
                f"written by a newer worker: {exc}",
                label=f"{NEWER_FORMAT}-{exc.found}",
                event="state file of a newer format set aside; going on without it",
            )
        except StateFormatError as exc:
            self.set_aside(kind.FILE, str(exc))
        return None

    def write_record(self, record: StateRecord) -> None:
        self.write_json(record.FILE, encode(record))

    def write_json(self, name: str, value: Any) -> None:
        if (self.path / name).is_dir():
            self.set_aside(name, "a folder is where the file belongs")
        atomic_write_json(self.path / name, value)

    def set_aside(
        self,
        name: str,
        reason: str,
        *,
        label: str = "damaged",
        event: str = "damaged state file set aside; going on without it",
    ) -> Path | None:
        """Rename a damaged file (or folder) out of the way, keeping it for a look, with a
        warning; the worker goes on without it. None if even the rename failed."""
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path / f"{name}.{label}-{stamp}"
        try:
            os.replace(self.path / name, target)
        except OSError as exc:
            log.warning(
                "damaged state file could not be set aside",
                file=str(self.path / name),
                reason=reason,
                error=exc.strerror,
            )
            return None
        log.warning(
            event,
            file=str(self.path / name),
            reason=reason,
            moved_to=target.name,
        )
        return target

    def newer_format_set_aside(self) -> list[str]:
        """Files set aside because a newer worker wrote them, by name: they stay until
        someone has looked (a rollback loses what they held, e.g. which deviations were
        announced)."""
        return sorted(p.name for p in self.path.glob(f"*.{NEWER_FORMAT}-*"))

    def _folder(self, name: str) -> Path:
        """A subfolder, created if absent; a file in its place is set aside first."""
        path = self.path / name
        if path.exists() and not path.is_dir():
            self.set_aside(name, "a file is where the folder belongs")
        path.mkdir(exist_ok=True)
        return path

    # -- one sync at a time ----------------------------------------------------------------

    @contextmanager
    def sync_lock(self) -> Iterator[None]:
        """Hold the folder's sync lock, or raise ``SyncBusy`` at once if another process
        holds it. Two syncs of one project at the same time (the scheduler's and a manual
        one, two CronJobs) would plan query writes from the same old state and write some
        twice; the second one does not start instead. The operating system releases the
        lock when its holder exits, however it exits."""
        if fcntl is None:
            yield
            return
        if (self.path / "sync.lock").is_dir():
            self.set_aside("sync.lock", "a folder is where the file belongs")
        with (self.path / "sync.lock").open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncBusy(
                    f"another sync is running with the state folder {self.path}; "
                    "this one did not start"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- the incremental-sync cursor -------------------------------------------------------

    def cursor(self) -> datetime | None:
        """When the last successful sync started (UTC), or None: then sync in full."""
        cursor = self.read_record(Cursor)
        return cursor.last_success_started_at if cursor is not None else None

    def set_cursor(self, started_at: datetime) -> None:
        self.write_record(Cursor(started_at))

    # -- the project structure a sync read ----------------------------------------------

    def save_structure(self, url: str, schema: ProjectSchema, read_at: datetime) -> None:
        self.write_record(SavedStructure(url, read_at, schema.to_json()))

    def saved_structure(self) -> SavedStructure | None:
        return self.read_record(SavedStructure)

    def structure(self, url: str, *, read_since: datetime) -> ProjectSchema | None:
        """The structure saved for the project at ``url`` if it was read at ``read_since``
        or later; None if there is none, it is older or another project's, or unreadable."""
        saved = self.saved_structure()
        if saved is None or saved.url != url or saved.read_at < read_since:
            return None
        try:
            return ProjectSchema.from_json(saved.schema)
        except (KeyError, TypeError, ValueError, ValidationError):
            return None

    # -- outbox of summaries ---------------------------------------------------------------

    @property
    def outbox(self) -> Path:
        return self._folder("outbox")

    def sent_keys(self) -> set[str]:
        return set(self._sent().keys)

    def _sent(self) -> SentKeys:
        return self.read_record(SentKeys) or SentKeys()

    def mark_sent(self, key: str) -> None:
        self.write_record(self._sent().with_key(key))

    # -- history and heartbeat -------------------------------------------------------------

    def record_run(self, run: RunRecord) -> None:
        """Append a run to the short history and refresh the heartbeat."""
        self.write_record((self.read_record(RunHistory) or RunHistory()).with_run(run))
        self.write_record(self.heartbeat().after(run))

    def history(self) -> list[RunRecord]:
        return list((self.read_record(RunHistory) or RunHistory()).runs)

    def heartbeat(self) -> Heartbeat:
        return self.read_record(Heartbeat) or Heartbeat()
