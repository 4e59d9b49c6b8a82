"""What the sync of every query target shares: its options, stopping between batches,
and which checks ran (their queries alone are reconciled)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.config import QueriesSettings, StudySettings
from worker.core.generic_checks import GenericRule
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


@dataclass(frozen=True)
class SyncOptions:
    """What a sync needs to know besides its client: the study, where its queries go, the
    REDCap server's clock (DRW timestamps), the state folder (the DRW journal) and when a
    run is degraded. The command line and the scheduler build it from the settings."""

    study: StudySettings
    queries: QueriesSettings
    state_dir: Path
    server_timezone: str = "UTC"
    max_error_share: float = 0.05


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
