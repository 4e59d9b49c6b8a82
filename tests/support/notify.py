"""Small summaries' inputs for the notify tests: items, visits and snapshots by hand, and
email settings pointing at a loopback SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path
from typing import Any

from worker.config import EmailSettings, Settings
from worker.core.findings import Kind, Severity
from worker.notify.snapshot import Item, Snapshot, SummaryOptions, Visit, VisitState
from worker.session import summary_options

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
_serial = count(1)


def item(
    record: str = "5",
    rule: str = "NK-TRT-04",
    severity: Severity = Severity.MAJOR,
    kind: Kind = Kind.DEVIATION,
    **values: Any,
) -> Item:
    n = next(_serial)
    fields: dict[str, Any] = {
        "key": f"q{n}/20261126T020000/0",
        "query_id": f"q{n}",
        "record": record,
        "site": "",
        "rule": rule,
        "title": f"Title of {rule}",
        "kind": kind,
        "severity": severity,
        "event": "treatment_arm_1",
        "event_label": "Treatment",
        "form": "infusion",
        "form_label": "Intrauterine Infusion",
        "instance": 1,
        "field": "inf_date",
        "days_open": 0,
        "reopened": False,
        "link": f"https://redcap.example.org/redcap_v15.7.6/DataEntry/index.php?pid=1&id={record}",
    }
    return Item(**(fields | values))


def critical(record: str = "8", **values: Any) -> Item:
    return item(record, **({"rule": "NK-TRT-01", "severity": Severity.CRITICAL} | values))


def query(record: str = "5", **values: Any) -> Item:
    defaults = {"rule": "DQ-RANGE", "severity": Severity.MINOR, "kind": Kind.QUERY}
    return item(record, **(defaults | values))


def visit(record: str = "9", state: VisitState = VisitState.OVERDUE, days: int = 3) -> Visit:
    return Visit(
        record=record,
        site="",
        visit="month 2",
        event_label="Follow-up month 2",
        state=state,
        days=days,
        window=(49, 63),
    )


def snapshot(*items: Item, complete: bool = True, **values: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "as_of": AS_OF,
        "now": NOW,
        "items": tuple(items),
        "visits": (visit(),),
        "progress": (("Screened", 20), ("Treated", 17)),
        "anchor": "the first infusion",
        "complete": complete,
    }
    return Snapshot(**(fields | values))


def stored_query(
    instance: int = 1,
    rule: str = "NK-TRT-01",
    kind: Kind = Kind.DEVIATION,
    severity: Severity = Severity.CRITICAL,
    status: Any = None,
    **values: Any,
) -> Any:
    """A query as the worker reads it from the query form (see worker/core/queries.py)."""
    from worker.core.queries import Query, Status

    fields: dict[str, Any] = {
        "instance": instance,
        "query_id": f"{rule}-{instance}",
        "rule": rule,
        "status": status or Status.OPEN,
        "fingerprint": "f",
        "message": "Infusion 3 given; viability 79.9 %.",
        "reopen_count": 0,
        "verified": False,
        "kind": kind,
        "severity": severity,
        "event": "treatment_arm_1",
        "form": "infusion",
        "form_instance": 3,
        "field": "inf_date",
        "opened_at": NOW,
    }
    return Query(**(fields | values))


def sync_result(queries: dict[str, list[Any]], *, partial: bool = False, **values: Any) -> Any:
    """A run's outcome carrying what summaries read, without a sync."""
    from tests.support.nk_trial import schema
    from worker.core.outcome import RunOutcome

    project = schema().model_copy(update={"redcap_version": "15.7.6", "project_id": 4107})
    fields: dict[str, Any] = {
        "as_of": AS_OF,
        "partial": partial,
        "schema": project,
        "titles": {"NK-TRT-01": "More infusions than the protocol allows"},
        "queries": queries,
    }
    return RunOutcome(**(fields | values))


def message(recipients: tuple[str, ...] = ("pi@example.org", "dm@example.org")) -> Any:
    """A built summary email (what the outbox stores)."""
    from worker.notify.message import build_message
    from worker.notify.render import Rendered

    return build_message(
        key="critical-study-abc",
        audience="study:critical",
        subject="[REDCap worker] CRITICAL: 1 new protocol deviation",
        rendered=Rendered(text="plain body\n", html="<p>html body</p>\n"),
        sender="worker@example.org",
        recipients=recipients,
        now=NOW,
    )


def email_settings(**values: object) -> EmailSettings:
    base: dict[str, object] = {
        "security": "none",
        "sender": "worker@example.org",
        "critical": ["pi@example.org"],
        "major": ["dm@example.org"],
        "minor": ["monitor@example.org"],
        "timeout_s": 5.0,
    }
    return EmailSettings.model_validate(base | values)


def settings_for(tmp_path: Path, **email: object) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        email=email_settings(**email),
        redcap={"url": "https://redcap.example.org/api/"},
    )


def options_for(tmp_path: Path, **email: object) -> SummaryOptions:
    """What the summaries read of :func:`settings_for`."""
    return summary_options(settings_for(tmp_path, **email))
