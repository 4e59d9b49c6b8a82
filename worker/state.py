"""The worker's state folder: sync cursor, unsent summaries, run history, heartbeat.

Every write is atomic (a temporary file in the same folder, flushed, then renamed over the
old one), so a crash or a full disk leaves either the old state or the new, never half.
A lost state folder costs one full sync, never a wrong one: nothing here is the only copy
of anything REDCap holds.
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

from pydantic import ValidationError

from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, SyncBusy

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
        """A JSON document, or ``default`` when it is absent or unreadable (never fatal:
        losing state means doing more work, not wrong work)."""
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def write_json(self, name: str, value: Any) -> None:
        atomic_write_json(self.path / name, value)

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
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            return None

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
        path = self.path / "outbox"
        path.mkdir(exist_ok=True)
        return path

    def sent_keys(self) -> set[str]:
        return set(self.read_json("sent.json", []))

    def mark_sent(self, key: str) -> None:
        keys = self.read_json("sent.json", [])
        if key not in keys:
            keys.append(key)
        self.write_json("sent.json", keys[-5000:])

    # -- history and heartbeat -------------------------------------------------------------

    def record_run(self, entry: dict[str, Any]) -> None:
        """Append a run to the short history and refresh the heartbeat."""
        history = self.read_json("history.json", [])
        history.append(entry)
        self.write_json("history.json", history[-HISTORY_LIMIT:])
        beat = self.read_json("heartbeat.json", {})
        beat["last_run_at"] = entry.get("finished_at")
        beat["last_status"] = entry.get("status")
        if entry.get("status") == "ok":
            beat["last_success_at"] = entry.get("finished_at")
        self.write_json("heartbeat.json", beat)

    def history(self) -> list[dict[str, Any]]:
        return list(self.read_json("history.json", []))

    def heartbeat(self) -> dict[str, Any]:
        return dict(self.read_json("heartbeat.json", {}))
