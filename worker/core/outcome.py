"""The outcome of one run: what ``check``, ``sync``, ``report``, ``visits``, the jobs and the
emails all read.

A run (``worker.pipeline.check_batches``) fills in the findings and what it gathered on the
way at no extra request: coverage, failed checks, the study's tally, each record's query
rows and data access group. A sync then adds what it planned and wrote, and sets each
record's queries to what REDCap holds once its writes are done. Consumers read this one
type; none of them runs the checks again or reaches back into the run that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from worker.core.drw import PlannedResolution
from worker.core.findings import CheckCoverage, Finding
from worker.core.queries import Action, Plan, Query
from worker.core.records import RecordData
from worker.core.rules.tally import StudyTally
from worker.core.schema import ProjectSchema


@dataclass(frozen=True)
class KeptQueries:
    """A record's query rows alone (small: all a sync's second pass needs), and the query
    event of the record's own arm, resolved while its other rows were at hand."""

    record: RecordData
    event: str | None


@dataclass
class RunOutcome:
    """One run of the checks over a project's records, and what a sync did with it."""

    as_of: date
    findings: list[Finding] = field(default_factory=list)
    records_checked: int = 0
    check_errors: int = 0
    logic_errors: list[str] = field(default_factory=list)
    # A run over some records only: cross-participant checks did not run.
    partial: bool = False
    # The study's own checks configured (0: the generic checks alone); None: not known.
    study_checks: int | None = None
    # Checks not run because the project no longer has what they read: ID -> why.
    quarantined: dict[str, str] = field(default_factory=dict)
    # Per study check: whom it judged (the coverage ledger).
    coverage: dict[str, CheckCoverage] = field(default_factory=dict)
    # A check erring on more than this share of the participants it tried degrades the run
    # (``[check] max_error_share``).
    max_error_share: float = 0.05

    # -- gathered while checking -----------------------------------------------------------
    schema: ProjectSchema | None = None
    titles: dict[str, str] = field(default_factory=dict)  # study check ID -> title
    # Record -> the checks that failed on it (its earlier queries of them stand).
    failed: dict[str, set[str]] = field(default_factory=dict)
    # (check, what went wrong where: the study's file and line) -> the records it failed on.
    check_failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # record -> data access group
    # The study's progress and visit rows (only when the run was asked to tally them).
    tally: StudyTally | None = None
    # Each record's query rows as exported (only when the run was asked to read them).
    query_rows: dict[str, KeptQueries] = field(default_factory=dict)
    # Each record's queries as REDCap holds them after the run (a sync: after its writes;
    # a dry run: as they would stand), rows rejected or skipped left out.
    queries: dict[str, list[Query]] = field(default_factory=dict)

    # -- what a sync did ---------------------------------------------------------------------
    plan: Plan = field(default_factory=Plan)
    dry_run: bool = False
    written: int = 0
    write_errors: list[str] = field(default_factory=list)
    rejected: set[tuple[str, int]] = field(default_factory=set)  # (record, query instance)
    # Records deleted from REDCap since this run's export: their rows were not written (that
    # would have created them again). Record -> rows skipped.
    gone: dict[str, int] = field(default_factory=dict)
    # The DRW target: the resolutions planned, and event ID -> unique event name.
    resolutions: list[PlannedResolution] | None = None
    event_names: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every planned write landed."""
        return not self.write_errors

    @property
    def degraded(self) -> list[str]:
        """Why this run is not a clean bill of health, one line each (empty: it is)."""
        lines = [f"check {rule} quarantined: {why}" for rule, why in self.quarantined.items()]
        limit = self.max_error_share
        for rule, cover in sorted(self.coverage.items()):
            if cover.errored and cover.error_share > limit:
                lines.append(
                    f"check {rule} errored on {cover.errored} of {cover.ran + cover.errored} "
                    f"participants ({cover.error_share:.0%}, limit {limit:.0%})"
                )
        return lines

    @property
    def status(self) -> str:
        """``ok``, or ``degraded`` when a check was quarantined or erred too often."""
        return "degraded" if self.degraded else "ok"

    def counts(self) -> dict[str, int]:
        """The sync's counts, as its summary line, log and run history give them."""
        plan = self.plan
        return {
            "findings": len(self.findings),
            "created": plan.count(Action.CREATE),
            "resolved": plan.count(Action.RESOLVE),
            "reopened": plan.count(Action.REOPEN),
            "verified": plan.count(Action.VERIFY),
            "updated": plan.count(Action.UPDATE),
            "unchanged": plan.unchanged,
            "not_run": plan.not_run,
            "write_errors": len(self.write_errors),
        }
