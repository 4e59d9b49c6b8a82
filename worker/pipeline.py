"""The check pipeline: REDCap -> rows -> typed participants -> findings.

It streams: records are exported batch by batch and checked as they arrive, so memory is
bounded by the batch size, not by the project. Cross-participant checks keep only a small
key per participant until the end. The next batch downloads while this one is checked (one
batch ahead, on a helper thread), so checking hides behind the network and the rate ceiling.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import structlog

from worker.config import StudySettings

# Opening a client needs none of the checks' machinery (a command's first requests go out
# while it is imported): it has a module of its own, and is named here for its callers.
from worker.connect import make_client as make_client
from worker.core.findings import Finding, merge_sorted, sort_findings
from worker.core.generic_checks import GenericChecker
from worker.core.mapping import MappingSpec, ParticipantBuilder, QueriesSpec, load_mapping
from worker.core.outcome import KeptQueries, RunOutcome
from worker.core.queries import QueryBook
from worker.core.records import RecordData, group_rows
from worker.core.rules import Ruleset, load_ruleset
from worker.core.rules.tally import StudyTally, VisitFilter
from worker.core.scaffold import QUERY_FORM, QUERY_ZIP, place_of, setup_steps, upload_step
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError
from worker.handover import prompt_handover
from worker.redcap_client import RedcapClient

log = structlog.get_logger(__name__)

T = TypeVar("T")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Study:
    """What the checks run with: the live project's schema and the generic checks; with a
    mapping, the typed participant models; with rules, the study's own checks.

    With no mapping (``[study]`` naming none) only the generic checks run, on every form.
    """

    schema: ProjectSchema
    generic: GenericChecker
    mapping: MappingSpec | None = None
    builder: ParticipantBuilder | None = None
    ruleset: Ruleset | None = None
    mapping_path: Path | None = None

    @property
    def queries(self) -> QueriesSpec | None:
        """The mapping's query instrument, if the project has its form. Only ``sync`` needs
        it; ``check`` and ``report`` run without it."""
        spec = self.mapping.queries if self.mapping is not None else None
        return spec if spec is not None and spec.form in self.schema.forms else None

    @property
    def study_checks(self) -> int:
        """How many study checks (Python and logic rules) are configured."""
        return len(self.ruleset.checks) if self.ruleset is not None else 0

    @property
    def forms_to_export(self) -> list[str]:
        """Every form the checks read: all but the query form, which only ``sync`` reads."""
        skip = {self.mapping.queries.form} if self.mapping and self.mapping.queries else set()
        return [f for f in self.schema.forms if f not in skip]


def judged_mapping(mapping: MappingSpec, schema: ProjectSchema) -> MappingSpec:
    """The mapping as checked against the project: a query form the project lacks is no
    drift (only sync writes queries, and it says what to add: :func:`query_instrument`)."""
    if mapping.queries is not None and mapping.queries.form not in schema.forms:
        return mapping.model_copy(update={"queries": None})
    return mapping


def load_study(
    settings: StudySettings, schema: ProjectSchema, *, ignore_grace: bool = False
) -> Study:
    """Load mapping and rules and check them against the project (drift is an error).

    Neither set: the generic checks alone. A query form the project lacks is no drift
    here (see :func:`query_instrument`). ``ignore_grace``: judge as if every grace period of
    the study's schedule were 0 days (``check --ignore-grace``), showing data not yet entered
    that the grace would hide."""
    if settings.mapping is None:
        if settings.rules is not None:
            raise ConfigError("study.rules needs study.mapping: the checks read mapped parts")
        return Study(schema=schema, generic=GenericChecker(schema))
    mapping_path = Path(settings.mapping)
    mapping = load_mapping(mapping_path)
    exclude = frozenset({mapping.queries.form}) if mapping.queries else frozenset()
    judged = judged_mapping(mapping, schema)
    builder = ParticipantBuilder(judged, schema)
    ruleset = None
    if settings.rules is not None:
        rules_dir = Path(settings.rules)
        if not rules_dir.is_dir():
            raise ConfigError(f"study.rules: folder not found: {rules_dir}")
        ruleset = load_ruleset(rules_dir, schema=schema, mapping=judged)
        if ruleset.participant_model is not None:
            # The checks' own participant class (checked against the project at load).
            builder = ParticipantBuilder(judged, schema, model=ruleset.participant_model)
        if ignore_grace:
            ruleset = ruleset.without_grace()
    return Study(
        schema=schema,
        generic=GenericChecker(
            schema,
            exclude_forms=exclude,
            event_dates=ruleset.event_dates if ruleset else None,
            required_grace_days=ruleset.required_grace_days if ruleset else 0,
        ),
        mapping=mapping,
        builder=builder,
        ruleset=ruleset,
        mapping_path=mapping_path,
    )


INIT_HINT = (
    "`python -m worker init DIR` writes a study folder for the project (a mapping, rules, and "
    "the query instrument to add: DIR/query_instrument.zip)"
)


def query_instrument(study: Study) -> QueriesSpec:
    """The query instrument ``sync`` writes to; if there is none, a ConfigError saying in
    one line what to add."""
    if study.queries is not None:
        return study.queries
    mapping, path = study.mapping, study.mapping_path
    if mapping is None:
        raise ConfigError(
            "sync needs a query instrument to write findings into, and no study mapping is "
            f"configured: {INIT_HINT}; then sync with --config DIR/config.toml"
        )
    if mapping.queries is None:
        raise ConfigError(
            f"sync needs a query instrument: the mapping {path} has no [queries] section; "
            + INIT_HINT
        )
    form = mapping.queries.form
    raise ConfigError(
        f"sync needs the query instrument '{form}', which the project does not have: "
        + query_form_steps(study.schema, mapping.queries, path)
    )


def query_form_steps(schema: ProjectSchema, queries: QueriesSpec, mapping_path: Path | None) -> str:
    """How to add the mapping's query form to the project, in one line: the instrument ZIP
    ``init`` wrote next to the mapping, if that is the form."""
    zip_path = mapping_path.parent / QUERY_ZIP if mapping_path is not None else None
    if queries.form != QUERY_FORM:
        first = f"add a form '{queries.form}' with the fields the mapping's [queries.fields] names"
    elif zip_path is not None and zip_path.is_file():
        first = upload_step(str(zip_path))
    else:
        first = upload_step("the query_instrument.zip `python -m worker init DIR` writes")
    return setup_steps(place_of(schema, queries.event), queries.form, first)


RecordCallback = Callable[[RecordData, list[Finding]], None]


class _Failed:
    """What the reading thread passes on when pulling the next item raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """``items`` in order, pulled on a helper thread up to ``depth`` items ahead of the
    consumer: while one batch is checked, the next is exported.

    An exception raised pulling an item is raised here, in its place in the sequence (after
    the items before it). The helper runs in a copy of the caller's context (context
    variables such as log settings carry over) and stops pulling as soon as the consumer
    stops; it then closes ``items`` if that is a generator. Lists and tuples are already
    here: they are returned as they are.
    """
    if isinstance(items, list | tuple):
        yield from items
        return
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pull() -> None:
        iterator = iter(items)
        try:
            while not stop.is_set():
                try:
                    item: object = next(iterator)
                except StopIteration:
                    put(_DONE)
                    return
                except BaseException as exc:  # handed to the consumer, raised there
                    put(_Failed(exc))
                    return
                if not put(item):
                    return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # the consumer has gone; nobody is left to tell
                    log.debug("closing the batch source failed", exc_info=True)

    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(pull,), name="worker-read-ahead", daemon=True
    )
    # The helper's requests leave when the rate limiter lets them (see worker.handover).
    with prompt_handover():
        thread.start()
        try:
            while True:
                item = ahead.get()
                if item is _DONE:
                    break
                if isinstance(item, _Failed):
                    error = item.error
                    del item
                    raise error
                yield item  # type: ignore[misc]
        finally:
            stop.set()
            while True:  # unblock a helper waiting to hand over an item
                try:
                    ahead.get_nowait()
                except queue.Empty:
                    break


def check_batches(
    study: Study,
    batches: Iterable[Sequence[dict]],
    *,
    as_of: date,
    partial: bool = False,
    queries: QueryBook | None = None,
    visits: VisitFilter | None = None,
    max_error_share: float = 0.05,
    on_record: RecordCallback | None = None,
    source_reads_ahead: bool = False,
) -> RunOutcome:
    """Run every check over a stream of flat-row batches (no I/O of its own): the one run
    every command's outcome comes from.

    A lazy stream (e.g. ``RedcapClient.iter_record_batches``) is read one batch ahead on a
    helper thread (see :func:`read_ahead`), so the next batch downloads while this one is
    checked; an error from the stream is raised where it would have been. A stream that
    reads ahead itself (``source_reads_ahead``, see :func:`reads_ahead`) is read as it is:
    a read-ahead of its own would hold batches beyond the source's bound.

    ``queries``: keep each record's rows of this query instrument (the batches must hold
    them) and read its queries. ``visits``: tally the study's progress and keep the visit
    rows this filter accepts. ``on_record`` sees each record with its own findings as it is
    checked (cross-participant findings come only at the end, in the outcome).
    """
    outcome = RunOutcome(
        as_of=as_of,
        partial=partial,
        study_checks=study.study_checks,
        max_error_share=max_error_share,
        schema=study.schema,
    )
    ruleset = study.ruleset
    if ruleset is not None:
        outcome.titles = {c.id: c.title for c in ruleset.checks}
        if visits is not None:
            outcome.tally = StudyTally(ruleset, keep_visit=visits)
            ruleset = ruleset.observed_by(outcome.tally.observe)
    run = ruleset.start(as_of) if ruleset else None
    # Each batch's findings sorted as they come, merged once at the end: sorting them all
    # at once would hold a sort key beside every finding of the project.
    sorted_runs: list[list[Finding]] = []
    for batch in batches if source_reads_ahead else read_ahead(batches):
        in_batch: list[Finding] = []
        for record in group_rows(study.schema, batch).values():
            outcome.records_checked += 1
            found = study.generic.check(record, as_of)
            if run is not None and study.builder is not None:
                found.extend(run.check(study.builder.build(record), record))
            _keep(outcome, record, found, queries)
            if on_record is not None:
                on_record(record, found)
            in_batch.extend(found)
        sorted_runs.append(sort_findings(in_batch))
    if run is not None:
        # Cross-participant checks (e.g. an enrollment cap) are meaningless on a subset.
        if not partial:
            sorted_runs.append(sort_findings(run.finish()))
        else:
            run.skip_cross()
        outcome.check_errors = run.check_errors
        outcome.check_failures = run.failures
        outcome.coverage = run.coverage
        outcome.quarantined = {q.check.id: q.reason for q in run.ruleset.quarantined}
    outcome.logic_errors = list(study.generic.logic_errors)
    outcome.findings = merge_sorted(sorted_runs)
    if queries is not None:
        for record_id, kept in outcome.query_rows.items():
            found_queries = queries.read(kept.record, event=kept.event)
            if found_queries:
                outcome.queries[record_id] = found_queries
    return outcome


def _keep(
    outcome: RunOutcome, record: RecordData, found: list[Finding], queries: QueryBook | None
) -> None:
    """What the outcome keeps of one record: its data access group, the checks that failed
    on it and, when asked, its query rows (never the rest of its rows)."""
    if record.data_access_group:
        outcome.groups[record.record_id] = record.data_access_group
    failed = {f.rule for f in found if f.check_error}
    if failed:
        outcome.failed[record.record_id] = failed
    if queries is not None:
        outcome.query_rows[record.record_id] = queries_only(record, queries)


def queries_only(record: RecordData, book: QueryBook) -> KeptQueries:
    """The record's rows of the query instrument at its own query event."""
    form, event = book.spec.form, book.event_of(record)
    rows = {
        key: values
        for key, values in record.rows.items()
        if key.repeat_instrument == form and key.event == event
    }
    return KeptQueries(RecordData(record.record_id, rows, record.data_access_group), event)


def check_project(
    client: RedcapClient,
    study: Study,
    *,
    as_of: date,
    records: Sequence[str] | None = None,
    queries: QueryBook | None = None,
    visits: VisitFilter | None = None,
    max_error_share: float = 0.05,
    on_progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Export the records the checks read (and the query form's, with ``queries``) and
    check them (:func:`check_batches`); read-only. ``records``: these only, a partial run."""
    forms = list(study.forms_to_export)
    if queries is not None:
        forms.append(queries.spec.form)
    batches = client.iter_record_batches(
        forms=forms,
        records=list(records) if records else None,
        on_progress=on_progress,
    )
    return check_batches(
        study,
        batches,
        as_of=as_of,
        partial=bool(records),
        queries=queries,
        visits=visits,
        max_error_share=max_error_share,
        source_reads_ahead=reads_ahead(client),
    )


def reads_ahead(client: RedcapClient) -> bool:
    """Whether the client's export batches come read ahead already: with
    ``max_concurrent_requests`` above 1 it keeps that many requested while one is checked
    (``RedcapClient.iter_record_batches``); with 1, each when it is asked for."""
    return client.max_concurrent_requests > 1


def run_check(
    client: RedcapClient,
    settings: StudySettings,
    *,
    as_of: date,
    records: Sequence[str] | None = None,
    on_progress: ProgressCallback | None = None,
    ignore_grace: bool = False,
    max_error_share: float = 0.05,
) -> RunOutcome:
    """Pull the project's records and check them; read-only."""
    # The output names forms, events and fields as REDCap does; a full check exports every
    # record, so their IDs are listed alongside the structure.
    schema = client.schema(labels=False, ids=False, list_records=not records)
    study = load_study(settings, schema, ignore_grace=ignore_grace)
    result = check_project(
        client,
        study,
        as_of=as_of,
        records=records,
        max_error_share=max_error_share,
        on_progress=on_progress,
    )
    log.info(
        "check finished",
        records=result.records_checked,
        findings=len(result.findings),
        check_errors=result.check_errors,
    )
    return result
