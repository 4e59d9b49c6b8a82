"""The worker's state folder: sync cursor, unsent summaries, run history, heartbeat.

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
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no cross-process lock
    fcntl = None  # type: ignore[assignment]

import structlog
from pydantic import ValidationError

from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, SyncBusy

log = structlog.get_logger(__name__)

HISTORY_LIMIT = 200


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

    def read_json(self, name: str, default: Any) -> Any:
        """A JSON document of ``default``'s type (a list, a dict), or ``default`` when it is
        absent or damaged; a damaged one is set aside (never fatal: losing state means
        doing more work, not wrong work)."""
        path = self.path / name
        try:
            value = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return default
        except IsADirectoryError:
            self.set_aside(name, "a folder is where the file belongs")
            return default
        except OSError as exc:
            self.set_aside(name, f"unreadable: {exc.strerror}")
            return default
        except ValueError:  # not UTF-8, not JSON
            self.set_aside(name, "not JSON")
            return default
        if not isinstance(value, type(default)):
            self.set_aside(name, f"JSON {type(value).__name__}, not {type(default).__name__}")
            return default
        return value

    def write_json(self, name: str, value: Any) -> None:
        if (self.path / name).is_dir():
            self.set_aside(name, "a folder is where the file belongs")
        atomic_write_json(self.path / name, value)

    def set_aside(self, name: str, reason: str) -> Path | None:
        """Rename a damaged file (or folder) out of the way, keeping it for a look, with a
        warning; the worker goes on without it. None if even the rename failed."""
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path / f"{name}.damaged-{stamp}"
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
            "damaged state file set aside; going on without it",
            file=str(self.path / name),
            reason=reason,
            moved_to=target.name,
        )
        return target

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
        value = self.read_json("cursor.json", {}).get("last_success_started_at")
        try:
            when = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        # The worker writes it with an offset: a naive time is not ours to compare.
        return when if when is not None and when.tzinfo is not None else None

    def set_cursor(self, started_at: datetime) -> None:
        self.write_json("cursor.json", {"last_success_started_at": started_at.isoformat()})

    # -- the project structure a sync read ----------------------------------------------

    def save_structure(self, url: str, schema: ProjectSchema, read_at: datetime) -> None:
        self.write_json(
            "structure.json",
            {"url": url, "read_at": read_at.isoformat(), "schema": schema.to_json()},
        )

    def structure(self, url: str, *, read_since: datetime) -> ProjectSchema | None:
        """The structure saved for the project at ``url`` if it was read at ``read_since``
        or later; None if there is none, it is older or another project's, or unreadable."""
        saved = self.read_json("structure.json", {})
        if not isinstance(saved, dict) or saved.get("url") != url:
            return None
        try:
            read_at = datetime.fromisoformat(saved["read_at"])
            if read_at.tzinfo is None or read_at < read_since:
                return None
            return ProjectSchema.from_json(saved["schema"])
        except (KeyError, TypeError, ValueError, ValidationError):
            return None

    # -- outbox of summaries ---------------------------------------------------------------

    @property
    def outbox(self) -> Path:
        return self._folder("outbox")

    def sent_keys(self) -> set[str]:
        return set(self._sent())

    def _sent(self) -> list[str]:
        return [key for key in self.read_json("sent.json", []) if isinstance(key, str)]

    def mark_sent(self, key: str) -> None:
        keys = self._sent()
        if key not in keys:
            keys.append(key)
        self.write_json("sent.json", keys[-5000:])

    # -- history and heartbeat -------------------------------------------------------------

    def record_run(self, entry: dict[str, Any]) -> None:
        """Append a run to the short history and refresh the heartbeat."""
        history = self.history()
        history.append(entry)
        self.write_json("history.json", history[-HISTORY_LIMIT:])
        beat = self.read_json("heartbeat.json", {})
        beat["last_run_at"] = entry.get("finished_at")
        beat["last_status"] = entry.get("status")
        if entry.get("status") == "ok":
            beat["last_success_at"] = entry.get("finished_at")
        self.write_json("heartbeat.json", beat)

    def history(self) -> list[dict[str, Any]]:
        return [entry for entry in self.read_json("history.json", []) if isinstance(entry, dict)]

    def heartbeat(self) -> dict[str, Any]:
        return dict(self.read_json("heartbeat.json", {}))
