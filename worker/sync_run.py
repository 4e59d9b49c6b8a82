"""What the sync of every query target shares: the run's outcome, stopping between
batches, and which checks ran (their queries alone are reconciled)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from worker.core.findings import CheckResult
from worker.core.generic_checks import GenericRule
from worker.core.queries import Plan, Query
from worker.core.rules.tally import StudyTally
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow, VisitStatus
from worker.errors import StopRequested
from worker.pipeline import Study
from worker.writes import BATCH_ROWS

WRITE_BATCH_ROWS = BATCH_ROWS

StopCheck = Callable[[], bool]


class SyncStopped(StopRequested):
    """A stop was requested and the sync ended at a safe point: between export batches
    (nothing written yet) or between write batches (each written batch is whole, with
    explicit instances, so the next run completes the rest without duplicates)."""


@dataclass
class SyncResult:
    check: CheckResult
    plan: Plan
    dry_run: bool
    written: int = 0
    write_errors: list[str] = field(default_factory=list)
    # What the run's summaries need (worker.notify), gathered on the way at no extra request:
    # the project's structure (for links), the checks' titles, each record's queries as they
    # stand after this run's writes (rejected rows excluded), the records' data access
    # groups, and the study's progress and still-open visits counted while checking.
    schema: ProjectSchema | None = None
    titles: dict[str, str] = field(default_factory=dict)
    queries: dict[str, list[Query]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    tally: StudyTally | None = None
    rejected: set[tuple[str, int]] = field(default_factory=set)  # (record, query instance)
    # Records deleted from REDCap since this run's export: their rows were not written (that
    # would have created them again). Record -> rows skipped.
    gone: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.write_errors


# Visits a summary lists: those still waiting for a sample (not taken, not excused).
OPEN_VISITS = frozenset({VisitStatus.MISSED, VisitStatus.DUE, VisitStatus.UPCOMING})


def open_visit(row: VisitRow) -> bool:
    return row.status in OPEN_VISITS


def rules_that_ran(study: Study, *, partial: bool) -> set[str]:
    """Every check that ran in this run (per record, check errors are subtracted). A
    quarantined check did not: its queries are left as they are."""
    ran = {rule.value for rule in GenericRule}
    if study.ruleset is not None:
        held = study.ruleset.quarantined_ids
        ran |= {
            c.id
            for c in study.ruleset.checks
            if not (partial and c.cross_participant) and c.id not in held
        }
    return ran


def until_stopped(
    batches: Iterable[Sequence[dict]], should_stop: StopCheck
) -> Iterator[Sequence[dict]]:
    """The batches, asking about a stop before each is requested."""
    iterator = iter(batches)
    while True:
        if should_stop():
            raise SyncStopped("stopped before the next export batch; nothing written")
        try:
            batch = next(iterator)
        except StopIteration:
            return
        yield batch
