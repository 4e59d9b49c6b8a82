"""Telling the data manager that scheduled syncs keep failing: one alert after
``email.alert_after_failures`` failed runs in a row, and one message when a run succeeds
again (pure decisions, then the outbox and delivery every summary uses).

The streak lives in ``<state>/sync_failures.json``, so a restart in the middle of an outage
neither forgets the count nor alerts a second time. Each message is queued in the outbox
before the streak records it as sent, and its key comes from when the streak began: a
crash in between queues the same message again, which ``sent.json`` then keeps from going
out twice. Failed runs still try to deliver the outbox (the alert itself, and any summary
an earlier run could not send), under the state folder's sync lock.

The messages name the study, the number of failed runs, when the streak began and the
last run's error in one line (the worker's own error messages, or an unexpected error's
class): never a record's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar, Self

import structlog
from markupsafe import escape

from worker.config import EmailSettings
from worker.errors import SyncBusy, WorkerError
from worker.notify.delivery import deliver
from worker.notify.message import build_message
from worker.notify.naming import header_text, study_name, subject_prefix
from worker.notify.outbox import Outbox
from worker.notify.plan import DATA_MANAGER_AUDIENCE, recipients_for
from worker.notify.render import Rendered
from worker.state import StateDir
from worker.state_records import (
    SavedStructure,
    StateFormatError,
    fields,
    moment_json,
    optional_moment,
    text,
    whole,
)

log = structlog.get_logger(__name__)

MAX_ERROR = 300


@dataclass
class Streak:
    """Scheduled runs failed in a row; a state record (``worker.state_records``)."""

    FILE: ClassVar[str] = "sync_failures.json"
    FORMAT: ClassVar[int] = 1

    failed_runs: int = 0
    since: datetime | None = None  # when the streak's first failed run ended
    last_error: str = ""
    alerted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "failed_runs": self.failed_runs,
            "since": moment_json(self.since),
            "last_error": self.last_error,
            "alerted": self.alerted,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        alerted = document.get("alerted", False)
        if not isinstance(alerted, bool):
            raise StateFormatError(f"alerted: {alerted!r} is not true or false")
        return cls(
            failed_runs=whole(document.get("failed_runs", 0), "failed_runs"),
            since=optional_moment(document.get("since"), "since"),
            last_error=text(document.get("last_error", ""), "last_error"),
            alerted=alerted,
        )

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        """The streak as the previous code wrote it, read as leniently as that code did."""
        data = fields(value, cls.FILE)
        try:
            since = datetime.fromisoformat(data["since"]) if data.get("since") else None
            return cls(
                failed_runs=int(data.get("failed_runs", 0)),
                since=since,
                last_error=str(data.get("last_error", "")),
                alerted=bool(data.get("alerted", False)),
            )
        except (TypeError, ValueError):
            return cls()


@dataclass
class Notice:
    key: str
    subject: str
    rendered: Rendered


def load_streak(state: StateDir) -> Streak:
    return state.read_record(Streak) or Streak()


def save_streak(state: StateDir, streak: Streak) -> None:
    state.write_record(streak)


def next_streak(
    streak: Streak, *, ok: bool, error: str, now: datetime, alert_after: int
) -> tuple[Streak, str | None]:
    """The streak after one run, and what to send: "failing", "recovered" or None."""
    if ok:
        return Streak(), ("recovered" if streak.alerted else None)
    failed = Streak(
        failed_runs=streak.failed_runs + 1,
        since=streak.since or now,
        last_error=header_text(error, MAX_ERROR),
        alerted=streak.alerted,
    )
    if alert_after and not failed.alerted and failed.failed_runs >= alert_after:
        failed.alerted = True
        return failed, "failing"
    return failed, None


def unexpected_error(exc: BaseException) -> str:
    """What the streak keeps of an error the worker did not expect: only its class, as its
    text could quote anything."""
    return f"unexpected error {type(exc).__name__}; the worker's log has its trace"


def count_scheduled_run(
    state_dir: Path, email: EmailSettings, *, error: str | None, now: datetime
) -> None:
    """``record_scheduled_run`` in the state folder at ``state_dir``, for a run that ended
    with ``error`` (None: it succeeded), never raising: the alert is a courtesy on top of the
    log, the exit code and health, never the reason a run fails or a scheduler stops."""
    try:
        state = StateDir(state_dir)
        record_scheduled_run(state, email, ok=error is None, error=error or "", now=now)
    except Exception:
        log.exception("could not record the run for failure alerts")


def record_scheduled_run(
    state: StateDir, email: EmailSettings, *, ok: bool, error: str, now: datetime
) -> None:
    """Count one scheduled run in the streak; alert or announce the recovery when due."""
    before = load_streak(state)
    after, send = next_streak(
        before, ok=ok, error=error, now=now, alert_after=email.alert_after_failures
    )
    if before == after and send is None:
        return  # a success after a success: nothing to write
    study = study_name(email.study_name, _saved_title(state))
    outbox = Outbox(state)
    if send == "failing":
        notice = failing_notice(after, study)
        log.error("scheduled syncs failing", failed_runs=after.failed_runs, key=notice.key)
    elif send == "recovered":
        notice = recovered_notice(before, study, now)
        log.info("scheduled syncs recovered", failed_runs=before.failed_runs, key=notice.key)
    else:
        notice = None
    if notice is not None:
        outbox.queue(notice.key, _message(notice, email, now))
    save_streak(state, after)
    if notice is not None or not ok:
        _deliver(email, state, outbox)


def failing_notice(streak: Streak, study: str) -> Notice:
    assert streak.since is not None
    since = _when(streak.since)
    who = f" of {study}" if study else ""
    text = (
        f"Scheduled syncs{who} have failed {streak.failed_runs} times in a row, since "
        f"{since}.\n\nLast error: {streak.last_error}\n\n"
        "Until a sync succeeds, no new query reaches REDCap and no new deviation is "
        "announced. Each run's \"sync run\" line in the worker's log says how it ended; "
        "`python -m worker health` turns unhealthy once the last success is older than "
        "schedule.max_age_hours.\n\nYou get one more message when a sync succeeds again.\n"
    )
    return Notice(
        key=f"sync-failing-{_stamp(streak.since)}",
        subject=f"{subject_prefix(study)} ALERT: scheduled syncs failing "
        f"({streak.failed_runs} in a row)",
        rendered=Rendered(text=text, html=_html(text)),
    )


def recovered_notice(streak: Streak, study: str, now: datetime) -> Notice:
    assert streak.since is not None
    who = f" of {study}" if study else ""
    runs = "run" if streak.failed_runs == 1 else "runs"
    text = (
        f"Scheduled syncs{who} succeed again: the run that ended {_when(now)} succeeded "
        f"after {streak.failed_runs} failed {runs} since {_when(streak.since)}.\n"
    )
    return Notice(
        key=f"sync-recovered-{_stamp(streak.since)}",
        subject=f"{subject_prefix(study)} Recovered: scheduled syncs succeed again",
        rendered=Rendered(text=text, html=_html(text)),
    )


def _message(notice: Notice, email: EmailSettings, now: datetime) -> EmailMessage:
    return build_message(
        key=notice.key,
        audience=DATA_MANAGER_AUDIENCE,
        subject=notice.subject,
        rendered=notice.rendered,
        sender=email.sender,
        recipients=recipients_for(DATA_MANAGER_AUDIENCE, email),
        now=now,
    )


@dataclass
class _Lines:
    sent: list[str]
    written: list[str]
    failed: list[str]


def _deliver(email: EmailSettings, state: StateDir, outbox: Outbox) -> None:
    lines = _Lines([], [], [])
    try:
        # A manual sync delivering the same outbox at the same moment could send twice.
        with state.sync_lock():
            deliver(outbox, state, email, lines)
    except SyncBusy:
        return  # the sync holding the lock delivers the outbox itself
    except WorkerError as exc:  # a refused SMTP setting: the messages wait in the outbox
        log.error("alert not sent", error=str(exc))
        return
    for line in lines.sent + lines.written:
        log.info(line)
    for line in lines.failed:
        log.error(line)


def _saved_title(state: StateDir) -> str:
    """The project title a sync saved with the project structure: REDCap may be down."""
    saved = state.read_record(SavedStructure)
    return saved.title if saved is not None else ""


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S")


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>\n" for p in text.strip().split("\n\n"))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"></head>\n'
        f"<body>\n{paragraphs}</body>\n</html>\n"
    )
