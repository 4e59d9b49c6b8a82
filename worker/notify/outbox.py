"""Where summaries wait, and the notifier's ledger, in the state folder.

``<state>/outbox/<key>.eml``          queued: written before any send is tried, removed once sent
``<state>/outbox/sent/<key>.eml``     delivered as a file (no SMTP host, or no recipients)
``<state>/outbox/dry-run/<key>.eml``  what a dry run would have sent
``<state>/notify.json``               the ledger (announced and pending deviations, last digest)
``<state>/sent.json``                 keys of summaries sent (``StateDir.mark_sent``)

Every write is atomic (``StateDir``'s temporary-file-and-rename), so a crash leaves a whole
message or none.
"""

from __future__ import annotations

import os
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from worker.notify.message import KEY_HEADER
from worker.notify.plan import Ledger
from worker.state import StateDir, atomic_write_bytes

LEDGER_FILE = Ledger.FILE
SUFFIX = ".eml"


def load_ledger(state: StateDir) -> Ledger:
    return state.read_record(Ledger) or Ledger()


def save_ledger(state: StateDir, ledger: Ledger) -> None:
    state.write_record(ledger)


class Outbox:
    def __init__(self, state: StateDir) -> None:
        self.path = state.outbox
        self.sent_dir = self.path / "sent"
        self.dry_run_dir = self.path / "dry-run"

    def queue(self, key: str, msg: EmailMessage) -> Path:
        path = self.path / f"{key}{SUFFIX}"
        atomic_write_bytes(path, bytes(msg))
        return path

    def queued(self) -> list[Path]:
        """Queued messages, critical alerts first, then oldest first."""
        found = [p for p in self.path.glob(f"*{SUFFIX}") if p.is_file()]
        return sorted(found, key=lambda p: (not p.name.startswith("critical-"), _age(p), p.name))

    @staticmethod
    def load(path: Path) -> EmailMessage:
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(msg, EmailMessage)
        return msg

    @staticmethod
    def key_of(path: Path, msg: EmailMessage) -> str:
        return str(msg.get(KEY_HEADER) or path.stem)

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)

    def file_away(self, path: Path) -> Path:
        """Move a queued message to ``sent/``: delivered as a file."""
        self.sent_dir.mkdir(exist_ok=True)
        target = self.sent_dir / path.name
        os.replace(path, target)
        return target

    def write_dry_run(self, key: str, msg: EmailMessage) -> Path:
        path = self.dry_run_dir / f"{key}{SUFFIX}"
        atomic_write_bytes(path, bytes(msg))
        return path


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
