"""The report's inputs and output in tests: the demo study as the worker loads it, a visit
row by hand, and the rendered page parsed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from tests.support.nk_trial import schema
from tests.support.projects import AS_OF, REPO
from worker.config import load_settings
from worker.core.links import DataEntryLinks
from worker.core.queries import QueryBook
from worker.core.rules.tally import keep_every_visit
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow, VisitStatus
from worker.pipeline import Study, check_batches, load_study
from worker.report import ReportData, collect_report

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


BASE = "https://redcap.example.org"


def project() -> ProjectSchema:
    return schema().model_copy(update={"redcap_version": "15.7.6", "project_id": 4107})


def study() -> Study:
    return load_study(load_settings(REPO / "config.example.toml").study, project())


def collect(rows: list[dict], *, include_values: bool = False) -> ReportData:
    """The report of one run over ``rows``, as ``report`` makes it: the query form's rows
    read, every visit row kept."""
    demo = study()
    assert demo.queries is not None
    outcome = check_batches(
        demo,
        [rows],
        as_of=AS_OF,
        queries=QueryBook(demo.queries, demo.schema),
        visits=keep_every_visit,
    )
    links = DataEntryLinks(BASE, project())
    return collect_report(outcome, now=NOW, links=links, include_values=include_values)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def page(html: str) -> Page:
    parsed = Page()
    parsed.feed(html)
    return parsed


D0 = date(2026, 3, 2)


def row(month: int, status: VisitStatus, sample_day: int | None = None) -> VisitRow:
    target = D0 + timedelta(days=28 * month)
    return VisitRow(
        record="5",
        visit=f"month {month}",
        part="follow_up",
        ordinal=month,
        field="mba_date",
        anchor=D0,
        target=target,
        window_start=target - timedelta(days=7),
        window_end=target + timedelta(days=7),
        sample_date=None if sample_day is None else D0 + timedelta(days=sample_day),
        status=status,
    )
