"""A bundled study as the worker loads it (its project's structure, its mapping, its rules,
the participants' class), and records of it built row by row.

A :class:`StudyRecord` collects REDCap rows (raw strings, as the API exports them) for one
record; the rows go through ``group_rows`` and the study's real ``ParticipantBuilder``, so
tests see the typed participant the checks see, with invalid values blanked as in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Self

from tests.support.projects import REPO, exports_schema, load_demo_data
from worker.core.findings import Finding
from worker.core.generic_checks import GenericChecker
from worker.core.mapping import MappingSpec, ParticipantBuilder, load_mapping
from worker.core.records import RecordData, group_rows
from worker.core.rules import Ruleset, load_ruleset
from worker.core.schema import ProjectSchema
from worker.pipeline import Study


class BundledStudy:
    """One of the studies shipped in the repository, loaded once per test session."""

    def __init__(self, name: str) -> None:
        self.project: Path = REPO / "demo" / name
        self.rules: Path = REPO / "rules" / name
        self.mapping_file: Path = REPO / "mappings" / f"{name}.toml"

    def schema(self) -> ProjectSchema:
        return exports_schema(self.project)

    @cache  # noqa: B019 - a study lives as long as the test session
    def mapping(self) -> MappingSpec:
        return load_mapping(self.mapping_file)

    @cache  # noqa: B019
    def ruleset(self) -> Ruleset:
        return load_ruleset(self.rules, schema=self.schema(), mapping=self.mapping())

    @cache  # noqa: B019
    def builder(self) -> ParticipantBuilder:
        """Participants of the checks' own class, as the pipeline builds them."""
        return ParticipantBuilder(
            self.mapping(), self.schema(), model=self.ruleset().participant_model
        )

    def study(self) -> Study:
        """The study as ``pipeline.load_study`` gives it to a run: schema, mapping, builder,
        rules and the generic checks."""
        return Study(
            schema=self.schema(),
            mapping=self.mapping(),
            builder=self.builder(),
            ruleset=self.ruleset(),
            generic=GenericChecker(self.schema()),
        )

    @cache  # noqa: B019
    def demo_data(self) -> ModuleType:
        """The project's ``demo_data.py``, which generates its demo rows."""
        return load_demo_data(self.project)

    def findings(self, recs: Iterable[StudyRecord], rule: str | None, as_of: date) -> list[Finding]:
        """Every study finding on these records (cross-participant checks included); a check
        that fails on them fails the test."""
        run = self.ruleset().start(as_of)
        found: list[Finding] = []
        for rec in recs:
            found.extend(run.check(rec.participant(), rec.record()))
        found.extend(run.finish())
        assert run.check_errors == 0
        return [f for f in found if rule is None or f.rule == rule]


class StudyRecord:
    """The rows of one record; each method sets values in one row and returns the record."""

    study: ClassVar[BundledStudy]

    def __init__(self, record_id: str = "1") -> None:
        self.record_id = record_id
        self.rows: dict[tuple[str, str, str], dict[str, str]] = {}

    def _set(self, event: str, instrument: str, instance: str, values: dict[str, Any]) -> Self:
        row = self.rows.setdefault(
            (event, instrument, instance),
            {
                "record_id": self.record_id,
                "redcap_event_name": event,
                "redcap_repeat_instrument": instrument,
                "redcap_repeat_instance": instance,
            },
        )
        row.update({k: "" if v is None else str(v) for k, v in values.items()})
        return self

    def record(self) -> RecordData:
        return group_rows(self.study.schema(), list(self.rows.values()))[self.record_id]

    def participant(self) -> Any:
        return self.study.builder().build(self.record())


def where(found: Iterable[Finding]) -> list[tuple[str, str | None, int | None, str | None]]:
    """(record, event, instance, field) of each finding: where the query is raised."""
    return [(f.record, f.event, f.instance, f.field) for f in found]


def finding_key(f: dict[str, Any] | Finding) -> tuple[Any, ...]:
    """What identifies a finding in a study's ``demo_findings.json`` oracle."""
    d = f if isinstance(f, dict) else f.public()
    return (d["rule"], d["record"], d["event"], d["instance"], d["field"])
