"""What one sync run knows about the study, in the terms summaries use (pure: no I/O).

Built from the run's outcome (:class:`~worker.core.outcome.RunOutcome`): every open query
and deviation (as REDCap holds them after the run's writes), the visits still waiting for a
sample, and the study's progress counters. Nothing here carries a field value or a calendar
date of a record: items name record, event, form, field and check; visits and ages are day
counts. A finding's message (which may quote values) is kept only when
``email.include_values`` allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from worker.config import EmailSettings
from worker.core.findings import Kind, Severity, record_sort_key
from worker.core.links import DataEntryLinks, redcap_base_url
from worker.core.outcome import RunOutcome
from worker.core.queries import Query
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow, VisitStatus
from worker.core.wording import day_count
from worker.notify.naming import study_name

# How far ahead "due soon" looks: a generic planning horizon, not a protocol number.
DUE_SOON = timedelta(weeks=2)


@dataclass(frozen=True)
class SummaryOptions:
    """What the summaries need of the settings: the ``[email]`` section, the API URL (the
    links' default base) and the timezone the digest's schedule is read in."""

    email: EmailSettings
    redcap_url: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Item:
    """One open query or deviation."""

    key: str  # this occurrence (query ID, opened, reopen count): announced once
    query_id: str
    record: str
    site: str  # data access group, "" when none
    rule: str
    title: str
    kind: Kind
    severity: Severity
    event: str
    event_label: str
    form: str
    form_label: str
    instance: int | None
    field: str
    days_open: int | None
    reopened: bool
    link: str | None
    message: str | None = None  # only when the settings allow values in emails

    @property
    def is_deviation(self) -> bool:
        return self.kind is Kind.DEVIATION

    def sort_key(self) -> tuple[object, ...]:
        return (
            -self.severity.rank,
            record_sort_key(self.record),
            self.event,
            self.instance or 0,
            self.field,
            self.rule,
        )


class VisitState(StrEnum):
    OVERDUE = "overdue"  # the window closed with no sample
    DUE_NOW = "due now"  # the window is open
    OPENS_SOON = "opens soon"  # the window opens within DUE_SOON


@dataclass(frozen=True, slots=True)
class Visit:
    record: str
    site: str
    visit: str
    event_label: str
    state: VisitState
    days: int  # since the window closed / until it closes / until it opens
    window: tuple[int, int]  # window's first and last day after the schedule's anchor

    @property
    def note(self) -> str:
        n = day_count(self.days)
        if self.state is VisitState.OVERDUE:
            return f"window closed {n} ago"
        if self.state is VisitState.DUE_NOW:
            return "window closes today" if self.days == 0 else f"window closes in {n}"
        return f"window opens in {n}"


@dataclass(frozen=True)
class Snapshot:
    as_of: date
    now: datetime
    items: tuple[Item, ...]  # open queries and deviations
    visits: tuple[Visit, ...]  # overdue, due now, opening soon
    progress: tuple[tuple[str, int], ...]
    anchor: str | None  # what visit day numbers count from
    complete: bool  # every record and every check ran: totals are the study's totals
    check_errors: int = 0
    site: str | None = None  # a data access group's view
    study: str = ""  # the study's name for subjects (header-safe; see naming.py)
    site_progress: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    degraded: tuple[str, ...] = ()  # why the run is not a clean bill of health

    @property
    def deviations(self) -> list[Item]:
        return [i for i in self.items if i.is_deviation]

    def for_site(self, site: str) -> Snapshot:
        """Only the records of one data access group (a site sees only its own)."""
        return replace(
            self,
            site=site,
            items=tuple(i for i in self.items if i.site == site),
            visits=tuple(v for v in self.visits if v.site == site),
            progress=self.site_progress.get(site, ()),
            site_progress={},
        )


def build_snapshot(
    result: RunOutcome, options: SummaryOptions, *, as_of: date, now: datetime
) -> Snapshot:
    schema = result.schema
    email = options.email
    links = DataEntryLinks(redcap_base_url(email.redcap_base_url, options.redcap_url), schema)
    include_values = email.include_values
    items: list[Item] = []
    for record, queries in result.queries.items():
        site = result.groups.get(record, "")
        for query in queries:
            if query.is_open:
                items.append(_item(query, record, site, result, links, now, include_values))
    items.sort(key=Item.sort_key)
    tally = result.tally
    visits = _visits(tally.visits if tally else [], result.groups, as_of, schema)
    sites = sorted(set(result.groups.values()))
    return Snapshot(
        as_of=as_of,
        now=now,
        items=tuple(items),
        visits=tuple(visits),
        progress=tuple(tally.progress()) if tally else (),
        anchor=tally.ruleset.schedule_anchor if tally else None,
        complete=not result.partial,
        check_errors=result.check_errors,
        study=study_name(email.study_name, schema.title if schema else ""),
        degraded=tuple(result.degraded),
        site_progress={s: tuple(tally.progress(s)) for s in sites} if tally else {},
    )


def _item(
    query: Query,
    record: str,
    site: str,
    result: RunOutcome,
    links: DataEntryLinks,
    now: datetime,
    include_values: bool,
) -> Item:
    schema = result.schema
    event = query.event
    return Item(
        key=query.occurrence,
        query_id=query.query_id,
        record=record,
        site=site,
        rule=query.rule,
        title=result.titles.get(query.rule, query.rule),
        # A row whose codes were edited out of shape: read as a query (not announced as a
        # deviation) of the highest severity (never hidden at the bottom of a list).
        kind=query.kind or Kind.QUERY,
        severity=query.severity or Severity.CRITICAL,
        event=event,
        event_label=schema.event_label(event) if schema else event,
        form=query.form,
        form_label=schema.form_label(query.form) if schema else query.form,
        instance=query.form_instance,
        field=query.field,
        days_open=query.days_open(now),
        reopened=query.reopen_count > 0,
        link=links.form(record, event or None, query.form or None, query.form_instance),
        message=query.message if include_values else None,
    )


def _visits(
    rows: Iterable[VisitRow], groups: dict[str, str], as_of: date, schema: ProjectSchema | None
) -> list[Visit]:
    visits: list[Visit] = []
    for row in rows:
        if row.status is VisitStatus.MISSED:
            state, days = VisitState.OVERDUE, (as_of - row.window_end).days
        elif row.status is VisitStatus.DUE:
            state, days = VisitState.DUE_NOW, (row.window_end - as_of).days
        elif row.status is VisitStatus.UPCOMING and row.window_start - as_of <= DUE_SOON:
            state, days = VisitState.OPENS_SOON, (row.window_start - as_of).days
        else:
            continue
        visits.append(
            Visit(
                record=row.record,
                site=groups.get(row.record, ""),
                visit=row.visit,
                event_label=schema.event_label(row.event) if schema else (row.event or ""),
                state=state,
                days=days,
                window=(row.start_day, row.end_day),
            )
        )
    order = list(VisitState)
    # Most urgent first: overdue longest ago, then closing soonest, then opening soonest.
    visits.sort(
        key=lambda v: (
            order.index(v.state),
            -v.days if v.state is VisitState.OVERDUE else v.days,
            record_sort_key(v.record),
        )
    )
    return visits
