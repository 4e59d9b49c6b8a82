"""A loaded ruleset, and one run of it over a stream of participants."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from worker.core.arms import participant_arm, record_arm
from worker.core.findings import (
    SKIP_BLANK,
    SKIP_PARTIAL,
    SKIP_QUARANTINED,
    CheckCoverage,
    Finding,
)
from worker.core.logic import RecordContext
from worker.core.mapping import MappingSpec
from worker.core.records import RecordData
from worker.core.rules.declare import CALENDAR_DATE, CheckInfo, Hit, Participant, PythonCheck
from worker.core.rules.inputs import Quarantine
from worker.core.rules.logic_rules import LogicRule, ValidOnly, rows_of
from worker.core.rules.params import Params, StudyParams
from worker.core.rules.wording import GENERIC, Wording
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow
from worker.errors import ConfigError

if TYPE_CHECKING:  # imported for types only: the schedule package imports this one's
    from worker.core.schedule import Schedule

log = structlog.get_logger(__name__)

# The study's progress counters for one participant, e.g. {"Enrolled": 1, ...}; the
# framework adds them up (see worker/core/rules/tally.py), so nothing per participant is kept.
# A study's functions take its own participant and parameter classes (see study_models.py).
ProgressFn = Callable[[Any, date, Any], Mapping[str, int]]


@dataclass(frozen=True)
class ScheduledVisits:
    """A participant's visit rows as the run computed them (once), or why it could not."""

    rows: tuple[VisitRow, ...] = ()
    error: Exception | None = None


# Sees each participant once, as the checks do (built once, with the visit rows the schedule
# checks judged; None without a schedule): summaries gather from it.
Observer = Callable[[Participant, date, ScheduledVisits | None], None]


class CheckOutputError(Exception):
    """A check returned something the framework cannot attach (a bug in the check)."""


@dataclass(frozen=True)
class Ruleset:
    """A study's checks and parameters, bound to the project's schema and mapping."""

    path: Path
    schema: ProjectSchema
    mapping: MappingSpec
    params: Params | StudyParams
    python_checks: tuple[PythonCheck, ...]
    logic_rules: tuple[LogicRule, ...]
    # The visit schedule the study declares (schedule.toml), with its checks.
    visit_schedule: Schedule | None = None
    progress_fn: ProgressFn | None = None
    # How reports, emails and the ``visits`` command speak of this study (study.toml).
    wording: Wording = GENERIC
    observers: tuple[Observer, ...] = ()
    # The study's declared participant class (study_models.py); None: generated from the data
    # dictionary. The pipeline builds participants of this class.
    participant_model: type[Participant] | None = None
    # Checks whose inputs the project no longer has: not run (see .inputs).
    quarantined: tuple[Quarantine, ...] = ()
    # (part, ordinal, arm) -> its event, as part_event() worked it out: asked for each
    # finding and visit row, it depends only on the project (filled as asked, never stale:
    # a changed schema or mapping is another ruleset).
    _part_events: dict[tuple[str, int | None, int | None], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def checks(self) -> list[CheckInfo]:
        """Every check, Python and logic, quarantined or not, by ID."""
        infos = [c.info for c in self.python_checks] + [r.info for r in self.logic_rules]
        if self.visit_schedule is not None:
            infos += [c.info for c in self.visit_schedule.checks.values()]
        infos += [q.check for q in self.quarantined]
        return sorted(infos, key=lambda i: i.id)

    @property
    def quarantined_ids(self) -> frozenset[str]:
        return frozenset(q.check.id for q in self.quarantined)

    def start(self, as_of: date) -> RulesRun:
        return RulesRun(self, as_of)

    @property
    def schedule_anchor(self) -> str:
        """What day numbers of the schedule count from, in words (e.g. "the first dose")."""
        return self.wording.schedule_anchor

    @property
    def has_schedule(self) -> bool:
        return self.visit_schedule is not None

    def schedule(self, participant: Participant, as_of: date) -> list[VisitRow]:
        """The participant's visits, as the rules folder's schedule declares them, with
        their events (the participant's own arm's)."""
        if self.visit_schedule is None:
            raise ConfigError(f"the rules in {self.path} define no visit schedule")
        arm = participant_arm(self.schema, participant) if len(self.schema.arms) > 1 else None
        return self.visit_schedule.rows(
            participant, as_of, arm, lambda part, ordinal: self.part_event(part, ordinal, arm)
        )

    def without_grace(self) -> Ruleset:
        """This ruleset judging as if every grace period were 0 days (``--ignore-grace``)."""
        if self.visit_schedule is None:
            return self
        return replace(self, visit_schedule=self.visit_schedule.without_grace())

    @property
    def required_grace_days(self) -> int:
        """How long DQ-REQUIRED waits after the date that dates an event."""
        return 0 if self.visit_schedule is None else self.visit_schedule.required_grace_days

    @property
    def event_dates(self) -> Mapping[str, str]:
        """The date field dating each event or visit (the schedule's ``[data_entry]``)."""
        return {} if self.visit_schedule is None else self.visit_schedule.spec.event_dates

    @property
    def has_progress(self) -> bool:
        return self.progress_fn is not None

    def progress(self, participant: Participant, as_of: date) -> dict[str, int]:
        """The participant's progress counters, as the rules folder counts them."""
        if self.progress_fn is None:
            raise ConfigError(f"the rules in {self.path} define no progress counters")
        counters = dict(self.progress_fn(participant, as_of, self.params))
        for label, count in counters.items():
            if not isinstance(label, str) or not isinstance(count, int) or count < 0:
                raise CheckOutputError("progress() must map labels to counts of 0 or more")
        return {label: int(count) for label, count in counters.items()}

    def observed_by(self, observer: Observer) -> Ruleset:
        """This ruleset, with ``observer`` shown every participant a run checks."""
        return replace(self, observers=(*self.observers, observer))

    def part_event(self, part: str, ordinal: int | None, arm: int | None = None) -> str | None:
        """The event of a mapping part (its ``ordinal``-th event, for a multi-event part);
        where the mapping names a visit, the visit's event in ``arm`` (the participant's)."""
        key = (part, ordinal, arm)
        try:
            return self._part_events[key]
        except KeyError:
            event = self._part_events[key] = self._find_part_event(part, ordinal, arm)
            return event

    def _find_part_event(self, part: str, ordinal: int | None, arm: int | None) -> str | None:
        spec = self.mapping.parts.get(part)
        if spec is None:
            raise CheckOutputError(f"the mapping has no part '{part}'")
        if spec.event is not None:
            name: str | None = spec.event
        else:
            events = spec.event_names
            if ordinal is None or not 1 <= ordinal <= len(events):
                raise CheckOutputError(f"part '{part}' has no event number {ordinal}")
            name = events[ordinal - 1]
        if name is None or not self.schema.is_visit(name):
            return name
        candidates = self.schema.events_of_visit(name)
        if arm is None and len(candidates) == 1:
            return candidates[0]
        event = self.schema.event_in_arm(name, arm) if arm is not None else None
        if event is None:
            where = f"arm {arm}" if arm is not None else "an arm the participant is in"
            raise CheckOutputError(f"part '{part}': visit '{name}' has no event in {where}")
        return event


class RulesRun:
    """One run: :meth:`check` each participant as records stream in, then :meth:`finish`.

    A check that raises on a participant yields one error finding for that check and
    participant (``check_error=True``: for the data manager, never a site query) and the run
    goes on. ``check_errors`` counts them; ``failed`` names, per record, the checks that
    failed on it, so their earlier queries can be left as they are; ``failures`` gives, per
    check and cause (the study's file and line, the name missed), the records it failed on.
    """

    def __init__(self, ruleset: Ruleset, as_of: date) -> None:
        self.ruleset = ruleset
        self.as_of = as_of
        self.check_errors = 0
        self.failed: dict[str, set[str]] = {}
        # (check, what went wrong where: see failure()) -> the records it failed on.
        self.failures: dict[tuple[str, str], list[str]] = {}
        self._per_participant = [c for c in ruleset.python_checks if not c.info.cross_participant]
        self._cross = [c for c in ruleset.python_checks if c.info.cross_participant]
        # Cross-participant checks keep only (record, key) per participant until finish(),
        # so memory is bounded by the keys, not by the records streamed through.
        self._keys: dict[str, list[tuple[str, Any]]] = {c.info.id: [] for c in self._cross}
        # Each participant's arm, for the events of parts that name visits (several arms only).
        self._several_arms = len(ruleset.schema.arms) > 1
        self._arms: dict[str, int | None] = {}
        rules = ruleset.logic_rules
        self._valid_only = ValidOnly.for_rules(ruleset.schema, rules) if rules else None
        # The coverage ledger: per check, whom it judged, skipped or errored on.
        self.coverage: dict[str, CheckCoverage] = {c.id: CheckCoverage() for c in ruleset.checks}
        self._held = [q.check.id for q in ruleset.quarantined]
        # Each per-participant check with its ledger entry, looked up once, not per participant.
        self._judging = [(c, self.coverage[c.info.id]) for c in self._per_participant]
        # The form of each field a hit may name (the instrument of its finding).
        self._forms = {name: f.form for name, f in ruleset.schema.fields.items()}

    # --- per participant ------------------------------------------------------------------

    def check(self, participant: Participant, record: RecordData) -> list[Finding]:
        record_id = participant.record_id
        params = self.ruleset.params
        if self._several_arms:
            self._arms[record_id] = record_arm(self.ruleset.schema, record)
        findings: list[Finding] = []
        for held in self._held:
            self.coverage[held].skip(SKIP_QUARANTINED)
        for c, cover in self._judging:
            try:
                for hit in c.run(participant, self.as_of, params):
                    findings.append(self._finding(c.info, hit, record_id))
                cover.ran += 1
            except Exception as exc:  # a bug in one check must not stop the run
                findings = [f for f in findings if f.rule != c.info.id]
                findings.append(self._error(c.info, record_id, exc))
        for c in self._cross:
            try:
                assert c.key is not None
                key = c.key(participant, self.as_of, params)
            except Exception as exc:
                findings.append(self._error(c.info, record_id, exc))
                continue
            if key is not None:
                self._keys[c.info.id].append((record_id, key))
            else:
                self.coverage[c.info.id].skip(SKIP_BLANK)
        if self._valid_only is not None:
            findings.extend(self._logic(record, self._valid_only(record)))
        visits = self._scheduled(participant, findings)
        for observe in self.ruleset.observers:
            try:
                observe(participant, self.as_of, visits)
            except Exception as exc:  # a summary's bookkeeping must never stop the checks
                log.error(
                    "participant observer failed",
                    record=record_id,
                    error=type(exc).__name__,
                    at=where_raised(exc, self.ruleset.path),
                )
        return findings

    def _scheduled(
        self, participant: Participant, findings: list[Finding]
    ) -> ScheduledVisits | None:
        """The participant's visits, computed once, and the schedule checks' findings on
        them; a schedule that fails is an error finding of each schedule check."""
        schedule = self.ruleset.visit_schedule
        if schedule is None:
            return None
        record_id = participant.record_id
        try:
            rows = tuple(self.ruleset.schedule(participant, self.as_of))
        except Exception as exc:
            findings.extend(self._error(c.info, record_id, exc) for c in schedule.checks.values())
            return ScheduledVisits(error=exc)
        for key, declared in schedule.checks.items():
            try:
                hits = schedule.hits(key, rows, self.as_of)
                findings.extend(self._finding(declared.info, hit, record_id) for hit in hits)
            except Exception as exc:
                findings[:] = [f for f in findings if f.rule != declared.info.id]
                findings.append(self._error(declared.info, record_id, exc))
        return ScheduledVisits(rows=rows)

    def _logic(self, raw: RecordData, clean: RecordData) -> list[Finding]:
        findings: list[Finding] = []
        schema = self.ruleset.schema
        for rule in self.ruleset.logic_rules:
            found: list[Finding] = []
            rows = 0
            try:
                for place in rule.places:
                    for instance, _ in rows_of(place, clean):
                        rows += 1
                        context = RecordContext(
                            schema=schema,
                            record=clean,
                            event=place.event,
                            instance=instance,
                            repeat_instrument=place.repeat_instrument,
                            today=self.as_of,
                            now=None,
                        )
                        if rule.expression.is_true(context):
                            # The rule's field and message were checked when it loaded.
                            found.append(
                                Finding(
                                    rule=rule.info.id,
                                    kind=rule.info.kind,
                                    severity=rule.info.severity,
                                    record=raw.record_id,
                                    event=place.event,
                                    instrument=rule.form,
                                    instance=instance,
                                    field=rule.field,
                                    message=rule.message,
                                    evidence=self._logic_evidence(rule, raw, place, instance),
                                )
                            )
                cover = self.coverage[rule.info.id]
                if rows:
                    cover.ran += 1
                else:
                    cover.skip(SKIP_BLANK)
            except Exception as exc:
                found = [self._error(rule.info, raw.record_id, exc)]
            findings.extend(found)
        return findings

    def _logic_evidence(
        self, rule: LogicRule, record: RecordData, place: Any, instance: int | None
    ) -> dict[str, str]:
        row = record.row(place.event, instance, place.repeat_instrument) or {}
        prefix = f"{place.event or ''}[{instance or ''}]"
        evidence: dict[str, str] = {}
        for name in rule.reads:
            for column in self.ruleset.schema.fields[name].export_names:
                evidence[f"{prefix}.{column}"] = row.get(column, "")
        return evidence

    # --- across participants --------------------------------------------------------------

    def finish(self) -> list[Finding]:
        """Cross-participant checks over the keys collected; call once, after every record."""
        findings: list[Finding] = []
        params = self.ruleset.params
        for c in self._cross:
            entries = self._keys[c.info.id]
            try:
                hits = c.run([key for _, key in entries], self.as_of, params)
                found = [self._finding(c.info, hit, None) for hit in hits]
                self.coverage[c.info.id].ran += len(entries)
            except Exception as exc:
                # The check ran on nobody: every participant it would judge gets an error
                # finding, so their earlier findings of this check are left as they are.
                found = [self._error(c.info, record_id, exc) for record_id, _ in entries]
            findings.extend(found)
        return findings

    def skip_cross(self) -> None:
        """A partial run: cross-participant checks judge nobody (instead of :meth:`finish`)."""
        for c in self._cross:
            if self._keys[c.info.id]:
                self.coverage[c.info.id].skip(SKIP_PARTIAL, len(self._keys[c.info.id]))

    # --- findings -------------------------------------------------------------------------

    def _finding(self, info: CheckInfo, hit: Hit, record_id: str | None) -> Finding:
        if not isinstance(hit, Hit):
            raise CheckOutputError(f"check {info.id} returned {type(hit).__name__}, not a Hit")
        form = self._forms.get(hit.field)
        if form is None:
            raise CheckOutputError(f"check {info.id} names field '{hit.field}', not in the project")
        message = hit.message
        # A calendar date has a "-": the search only for messages that have one.
        if "-" in message and CALENDAR_DATE.search(message):
            raise CheckOutputError(f"check {info.id} put a calendar date in its message")
        record = hit.record or record_id
        if record is None:
            raise CheckOutputError(f"cross-participant check {info.id} gave a hit with no record")
        event = hit.event
        if hit.part is not None:
            event = self.ruleset.part_event(hit.part, hit.ordinal, self._arms.get(record))
        return Finding(
            rule=info.id,
            kind=info.kind,
            severity=info.severity,
            record=record,
            event=event,
            instrument=form,
            instance=hit.instance,
            field=hit.field,
            message=message,
            evidence=hit.evidence,
        )

    def _error(self, info: CheckInfo, record_id: str, exc: Exception) -> Finding:
        self.check_errors += 1
        self.coverage[info.id].errored += 1
        self.failed.setdefault(record_id, set()).add(info.id)
        # Only the exception's type, the name it missed and where it happened: its text
        # may quote a value.
        cause = failure(exc, self.ruleset.path)
        self.failures.setdefault((info.id, cause), []).append(record_id)
        log.error(
            "check failed on a participant",
            check=info.id,
            record=record_id,
            error=type(exc).__name__,
            missing=missing_name(exc),
            at=where_raised(exc, self.ruleset.path),
        )
        return Finding(
            rule=info.id,
            kind=info.kind,
            severity=info.severity,
            record=record_id,
            event=None,
            instrument=None,
            instance=None,
            field=None,
            message=(
                f"Check {info.id} could not be evaluated for this participant (internal "
                f"error {cause}); its earlier findings stand until the check is fixed."
            ),
            check_error=True,
        )


def failure(exc: BaseException, rules_dir: Path) -> str:
    """What may be said of a study function's exception: its type, the name it missed (an
    attribute, parameter or variable: a name in the code, never a value) and the line of
    the study's own files it was raised from (``nk_trial/checks/follow_up.py:120``)."""
    name = missing_name(exc)
    missed = f": no attribute or name '{name}'" if name else ""
    return f"{type(exc).__name__}{missed} at {where_raised(exc, rules_dir)}"


def missing_name(exc: BaseException) -> str | None:
    """The attribute or name an ``AttributeError`` or ``NameError`` did not find."""
    if isinstance(exc, AttributeError | NameError):
        name = exc.name
        return name if isinstance(name, str) and name else None
    return None


def where_raised(exc: BaseException, rules_dir: Path) -> str:
    """The innermost line of the rules folder's files in the traceback, named from the
    folder's parent; the innermost line of all (a file name) if none is the study's (never
    a library's file when the study's code called it)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    root = rules_dir.resolve()
    for frame in reversed(frames):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root):
            return f"{path.relative_to(root.parent).as_posix()}:{frame.lineno}"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"
