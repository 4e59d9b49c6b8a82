"""The generic checks from the data dictionary: DQ-REQUIRED, DQ-TYPE, DQ-RANGE, DQ-CHOICE,
DQ-HIDDEN (docs/redcap-api-behaviour.md §5.3; REDCap's own data quality rules B, C, D, G and F,
§5.1).

They know no study: every form of the project is checked except ``exclude_forms`` (the
caller passes the form the worker writes its queries to), in every event the form is
designated for, in each of the record's rows for it:

- a repeating event: each instance row ``RowKey(event, "", k)``, all its forms;
- a repeating instrument: each row ``RowKey(event, form, k)``;
- otherwise the base row ``RowKey(event, "", None)``.

Decisions beyond that summary:

- The record-ID field is never checked: REDCap manages it (DAG prefixes can break an
  ``integer`` validation on it) and a query on it could not be raised sensibly.
- A field whose branching logic cannot be parsed, or names a field or event the project
  lacks, is still checked for TYPE, RANGE and CHOICE, but not for REQUIRED or HIDDEN, which
  depend on the logic: the worker does not flag what it cannot judge. Each such field is
  listed once in :attr:`GenericChecker.logic_errors` for the caller to report.
- A checkbox with junk in an option column gets one DQ-CHOICE finding for the field (not
  one per column), since a query is identified by check, record, event, instance and field.
- TYPE/CHOICE and HIDDEN are independent: a hidden field holding an invalid value gets both.
- A value equal to one of the project's missing-data codes (``ProjectSchema.missing_codes``)
  fills its field and is not judged (REDCap's rule I reports those, not ours); so does a
  checkbox's missing-code column (``field___unk``) holding 1.
- Calc and slider values are typed as numbers (values.py) but never reported by DQ-TYPE:
  neither has a validation type, and a calc value is REDCap's to compute.

- Grace for data entry: where the study names the date field that dates an event
  (``event_dates``, from its ``schedule.toml``), DQ-REQUIRED waits ``required_grace_days``
  after that date before reporting a blank required field in that event's rows: sites
  enter a visit's data days after it. A row whose dating field is blank or invalid is
  judged at once (nothing says the visit is recent). The other checks judge values that
  are there, so they never wait.

Messages name the field by its dictionary label and never quote a record value; the raw
values go to ``Finding.evidence`` only (for query fingerprints).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from worker.core.findings import Finding, Kind, Severity
from worker.core.logic import (
    Expression,
    LogicError,
    LogicSyntaxError,
    RecordContext,
    own_row_columns,
    parse,
    reference_problems,
)
from worker.core.records import RecordData, RowKey
from worker.core.schema import DATALESS_TYPES, FieldDef, ProjectSchema
from worker.core.values import (
    Parser,
    ParseStatus,
    Problem,
    display_label,
    is_blank,
    is_judged,
    range_checker,
    value_parser,
)


class GenericRule(StrEnum):
    REQUIRED = "DQ-REQUIRED"
    TYPE = "DQ-TYPE"
    RANGE = "DQ-RANGE"
    CHOICE = "DQ-CHOICE"
    HIDDEN = "DQ-HIDDEN"


# The one table of kinds and severities (docs/redcap-api-behaviour.md §5.3 shows it).
RULES: Mapping[GenericRule, tuple[Kind, Severity]] = MappingProxyType(
    {
        GenericRule.REQUIRED: (Kind.QUERY, Severity.MINOR),
        GenericRule.TYPE: (Kind.QUERY, Severity.MAJOR),
        GenericRule.RANGE: (Kind.QUERY, Severity.MINOR),
        GenericRule.CHOICE: (Kind.QUERY, Severity.MAJOR),
        GenericRule.HIDDEN: (Kind.QUERY, Severity.MINOR),
    }
)

_PROBLEM_RULE = {Problem.TYPE: GenericRule.TYPE, Problem.CHOICE: GenericRule.CHOICE}
_UNREPORTED_INVALID = frozenset({"calc", "slider"})

# What a stored (non-empty) value says by itself: whether it fills its field, and the
# TYPE, CHOICE or RANGE finding it earns (rule and message), if any.
Verdict = tuple[bool, tuple[GenericRule, str] | None]
ValueJudge = Callable[[str, date], Verdict]
# The same texts recur across records (codes, lab values): a field with choices or a range
# keeps a small memo of its recent verdicts. Small on purpose: it serves the recurring
# texts, and what it holds after a run stays a few KB per field, whatever the project's size.
VERDICT_MEMO_SIZE = 32
# Branching logic that reads only its own row's values gives the same answer for the same
# values, whatever the record: the checker remembers this many answers (branching mostly
# reads a few codes, so few combinations recur; once full, it remembers no more).
SHOWN_MEMO_SIZE = 512


def value_judge(field: FieldDef, missing_codes: Iterable[str] = ()) -> ValueJudge:
    """The verdict on one non-checkbox field's non-empty stored values, as of a day (the day
    matters only to a ``today`` min/max): parsed, judged against the field's validation,
    choices and range. A value equal to a missing-data code fills the field and is not
    judged; calc and slider values are never reported invalid (see the module's notes)."""
    if not _judges_values(field):
        # Nothing to judge: a value fills the field unless it is only whitespace (free
        # text, unknown validation types; a missing-data code is never blank).
        return lambda raw, today: (not raw.isspace(), None)
    parse = value_parser(field, frozenset(missing_codes))
    reports_invalid = _reports_invalid(field)
    out_of_range = range_checker(field) if field.min or field.max else None
    label = display_label(field)

    def judge(raw: str, today: date) -> Verdict:
        parsed = parse(raw)
        status = parsed.status
        if status is ParseStatus.VALID:
            if out_of_range is not None and parsed.value is not None:
                outside = out_of_range(parsed.value, today)
                if outside is not None:
                    return True, (GenericRule.RANGE, outside)
            return True, None
        if status is ParseStatus.BLANK:
            return False, None
        if status is ParseStatus.INVALID and reports_invalid:
            rule = _PROBLEM_RULE[parsed.problem or Problem.TYPE]
            return True, (rule, f"{label} {parsed.reason}.")
        return True, None  # a missing-data code, or an invalid value not reported

    if out_of_range is None and not field.choices:
        # The verdict is the parser's, and values.py remembers the texts it parsed (dates,
        # mostly, which seldom recur within one field).
        return judge
    return lru_cache(maxsize=VERDICT_MEMO_SIZE)(judge)


def _reports_invalid(field: FieldDef) -> bool:
    # A calc value is REDCap's to compute (its rule H, not ours) and a slider has no
    # validation type: a site could not act on a DQ-TYPE query about either.
    return field.field_type not in _UNREPORTED_INVALID and is_judged(field)


def _judges_values(field: FieldDef) -> bool:
    """Whether a stored value of the field can earn a TYPE, CHOICE or RANGE finding."""
    return _reports_invalid(field) or bool(field.min or field.max)


@dataclass(frozen=True, slots=True)
class _FieldCheckPlan:
    """Everything about one field that does not depend on the record, computed once."""

    field: FieldDef
    name: str
    columns: tuple[str, ...]
    parse: Parser  # a checkbox's, per option column
    judge: ValueJudge  # any other field's, per stored value
    label: str
    logic: Expression | None  # the parsed branching logic
    # Equal branching logic has one key, so a row evaluates it once for all its fields.
    logic_key: int
    logic_unreadable: bool  # REQUIRED/HIDDEN are not judged
    is_checkbox: bool
    required: bool


@dataclass(frozen=True, slots=True)
class _FormPlan:
    form: str
    fields: tuple[_FieldCheckPlan, ...]
    # "Has data": any of these filled (checkbox options: checked), the record ID excluded.
    value_columns: tuple[str, ...]
    checkbox_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _EventPlan:
    event: str | None
    repeats: bool  # the whole event repeats
    forms: tuple[tuple[_FormPlan, bool], ...]  # (form, repeating instrument?)
    # By the rows' repeat instrument ("" for the base row and a repeating event's rows):
    # the branching logic (by logic key) that reads only the row's own values, and the
    # columns it reads.
    own_row_logic: Mapping[str, Mapping[int, tuple[str, ...]]]


@dataclass(slots=True)
class _Row:
    """One row being checked, and the branching-logic context built for it on first need."""

    record: RecordData
    event: str | None
    instance: int | None
    repeat_instrument: str
    values: Mapping[str, str]
    today: date
    own_row_logic: Mapping[int, tuple[str, ...]]  # see _EventPlan
    context: RecordContext | None = None
    # Whether DQ-REQUIRED waits on this row (its event's date is within the grace period).
    waiting: bool | None = None
    # Branching logic already evaluated on this row, by logic key (errors are not kept).
    shown: dict[int, bool] = field(default_factory=dict)


class GenericChecker:
    """The generic checks for one project, prepared once and run on each record.

    Parsing every branching logic and building per-form field plans happens here, so
    :meth:`check` does no parsing or regex compilation per record. Across records it
    remembers, in bounded memos, each field's verdict on its recent values and what branching
    logic that reads only its own row said of the values it read: both are functions of
    exactly those inputs, so a remembered answer is the answer.
    """

    def __init__(
        self,
        schema: ProjectSchema,
        *,
        exclude_forms: Iterable[str] = frozenset(),
        missing_codes: Iterable[str] | None = None,
        event_dates: Mapping[str, str] | None = None,
        required_grace_days: int = 0,
    ) -> None:
        self.schema = schema
        # DQ-REQUIRED's grace: each event's dating date field (names given by visit stand
        # for the visit's event in every arm), and how many days after that date it waits.
        self.required_grace_days = required_grace_days
        self._event_dates = {
            event: name
            for given, name in (event_dates or {}).items()
            for event in (schema.events_of_visit(given) or [given])
        }
        self.exclude_forms = frozenset(exclude_forms)
        # The project's missing-data codes (project info ``missing_data_codes``, e.g. "UNK"):
        # REDCap accepts them in any field, so they fill a field and are never invalid.
        # The schema's unless told otherwise.
        self.missing_codes = frozenset(
            schema.missing_codes if missing_codes is None else missing_codes
        )
        # One line per field whose branching logic cannot be evaluated (metadata only, safe
        # to log); filled while preparing and, for errors only evaluation finds, by check().
        self.logic_errors: list[str] = []
        self._unreadable: set[str] = set()
        self._logic_keys: dict[Expression, int] = {}
        # (logic key, the values it reads) -> shown, for logic that reads only its row.
        self._shown_memo: dict[tuple[object, ...], bool] = {}
        forms = {
            form: self._plan_form(form) for form in schema.forms if form not in self.exclude_forms
        }
        self._events = tuple(
            _EventPlan(
                event=event,
                repeats=schema.is_repeating_event(event),
                forms=tuple(
                    (forms[form], schema.is_repeating_form(event, form))
                    for form in schema.forms_of_event(event)
                    if form in forms
                ),
                own_row_logic={
                    instrument: self._own_row_logic(event, instrument)
                    for instrument in (
                        "",
                        *(
                            form
                            for form in schema.forms_of_event(event)
                            if form in forms and schema.is_repeating_form(event, form)
                        ),
                    )
                },
            )
            for event in schema.event_names
        )

        self._date_parsers: dict[str, Parser] = {
            name: value_parser(schema.fields[name], self.missing_codes)
            for name in set(self._event_dates.values())
            if name in schema.fields
        }

    # --- preparation ----------------------------------------------------------------------

    def _plan_form(self, form: str) -> _FormPlan:
        record_id = self.schema.record_id_field
        fields = [
            f
            for f in self.schema.fields_of_form(form)
            if f.name != record_id and f.field_type not in DATALESS_TYPES
        ]
        plans = tuple(self._plan_field(f) for f in fields)
        # A field no check can report on (e.g. free text neither required nor branched) is
        # left out of the field loop; it still counts for "has data".
        plans = tuple(
            p
            for p in plans
            if p.is_checkbox
            or _judges_values(p.field)
            or (not p.logic_unreadable and (p.required or p.logic is not None))
        )
        return _FormPlan(
            form=form,
            fields=plans,
            value_columns=tuple(f.name for f in fields if not f.is_checkbox),
            checkbox_columns=tuple(c for f in fields if f.is_checkbox for c in f.export_names),
        )

    def _plan_field(self, field: FieldDef) -> _FieldCheckPlan:
        logic, unreadable = self._compile_branching(field)
        return _FieldCheckPlan(
            field=field,
            name=field.name,
            columns=tuple(field.export_names),
            parse=value_parser(field, self.missing_codes),
            judge=value_judge(field, self.missing_codes),
            label=display_label(field),
            logic=logic,
            logic_key=-1
            if logic is None
            else self._logic_keys.setdefault(logic, len(self._logic_keys)),
            logic_unreadable=unreadable,
            is_checkbox=field.is_checkbox,
            required=field.required,
        )

    def _compile_branching(self, field: FieldDef) -> tuple[Expression | None, bool]:
        """The field's parsed branching logic; (None, True) if it cannot be used."""
        if not field.branching_logic:
            return None, False
        try:
            expr = parse(field.branching_logic, source=f"branching logic of field {field.name}")
        except LogicSyntaxError as exc:
            self._logic_error(field.name, str(exc))
            return None, True
        # Unknown fields or events would fail on every row: check them once, here.
        problems = reference_problems(expr.field_refs, self.schema)
        if problems:
            self._logic_error(field.name, "; ".join(problems))
            return None, True
        return expr, False

    def _own_row_logic(self, event: str | None, instrument: str) -> dict[int, tuple[str, ...]]:
        """The branching logic that reads nothing but the values of a row of ``event`` with
        this repeat instrument, with the columns it reads (see ``own_row_columns``)."""
        found = {}
        for logic, key in self._logic_keys.items():
            columns = own_row_columns(logic.node, self.schema, event, instrument)
            if columns is not None:
                found[key] = columns
        return found

    def _logic_error(self, field: str, problem: str) -> None:
        """Record, once per field, that its branching logic cannot be evaluated."""
        if field in self._unreadable:
            return
        self._unreadable.add(field)
        self.logic_errors.append(
            f"Branching logic of field {field} cannot be evaluated, so DQ-REQUIRED and "
            f"DQ-HIDDEN are not checked for it: {problem}"
        )

    # --- running --------------------------------------------------------------------------

    def check(self, record: RecordData, today: date) -> list[Finding]:
        """All generic findings of one record, in event, instance and field order."""
        findings: list[Finding] = []
        base_rows, instances = _rows_by_event(record)
        for plan in self._events:
            if plan.repeats:
                for instance, values in instances.get((plan.event, ""), ()):
                    row = _Row(
                        record, plan.event, instance, "", values, today, plan.own_row_logic[""]
                    )
                    for form, _ in plan.forms:
                        self._check_form(findings, form, row)
                continue
            base_values = base_rows.get(plan.event)
            # One row object for all forms of the base row, so they share a logic context.
            base = (
                None
                if base_values is None
                else _Row(record, plan.event, None, "", base_values, today, plan.own_row_logic[""])
            )
            for form, repeating in plan.forms:
                if repeating:
                    for instance, values in instances.get((plan.event, form.form), ()):
                        row = _Row(
                            record,
                            plan.event,
                            instance,
                            form.form,
                            values,
                            today,
                            plan.own_row_logic[form.form],
                        )
                        self._check_form(findings, form, row)
                elif base is not None:  # no row: nothing stored, nothing to check
                    self._check_form(findings, form, base)
        return findings

    def _check_form(self, out: list[Finding], form: _FormPlan, row: _Row) -> None:
        # One loop over the form's fields (this runs for every field of every row): first
        # TYPE, RANGE and CHOICE on the stored value, then HIDDEN and REQUIRED, whose
        # branching logic is evaluated only when it decides. Whether the form has data is
        # worked out on first need.
        values = row.values
        if _stores_nothing(form, values):
            return
        has_data: bool | None = None
        get = values.get
        today = row.today
        for plan in form.fields:
            # TYPE, RANGE and CHOICE, and whether the field is filled. A value equal to a
            # missing-data code fills the field and is not judged.
            if plan.is_checkbox:
                filled = self._check_checkbox(out, form, plan, row)
            else:
                raw = get(plan.name)
                if not raw:
                    filled = False  # what every parser says of ""
                else:
                    filled, problem = plan.judge(raw, today)
                    if problem is not None:
                        rule, message = problem
                        out.append(self._finding(rule, form, plan, row, message, {plan.name: raw}))
            if plan.logic_unreadable:
                continue
            # HIDDEN and REQUIRED.
            if filled:
                if plan.logic is None or self._shown(plan, row) is not False:
                    continue
                rule = GenericRule.HIDDEN
                message = (
                    f"{plan.label} has a value, but its branching logic hides the field; "
                    "clear the value or correct the answers that control it."
                )
            else:
                if not plan.required:
                    continue
                if has_data is None:
                    has_data = _has_data(form, values)
                if not has_data:
                    continue
                if plan.logic is not None and self._shown(plan, row) is not True:
                    continue
                if self.required_grace_days and self._waiting(row):
                    continue
                rule = GenericRule.REQUIRED
                blank = "no option is checked" if plan.is_checkbox else "blank"
                message = f"{plan.label} is required but {blank}."
            out.append(self._finding(rule, form, plan, row, message, _evidence(plan, values)))

    def _check_checkbox(
        self, out: list[Finding], form: _FormPlan, plan: _FieldCheckPlan, row: _Row
    ) -> bool:
        values = row.values
        checked = False
        bad: dict[str, str] = {}
        reason = ""
        for column in plan.columns:
            raw = values.get(column, "")
            parsed = plan.parse(raw)
            if parsed.is_invalid:
                bad[column], reason = raw, parsed.reason
            elif parsed.value is True:
                checked = True
        if bad:
            message = f"{plan.label} {reason}."
            out.append(self._finding(GenericRule.CHOICE, form, plan, row, message, bad))
        return checked

    def _waiting(self, row: _Row) -> bool:
        """Whether the row's event was dated less than the grace period ago."""
        if row.waiting is None:
            row.waiting = False
            name = self._event_dates.get(row.event or "")
            if name is not None:
                raw = row.values.get(name, "")
                if not raw and row.repeat_instrument:  # the date may be on the event's base row
                    base = row.record.rows.get(RowKey(row.event, "", None)) or {}
                    raw = base.get(name, "")
                parsed = self._date_parsers[name](raw) if raw else None
                if parsed is not None and parsed.status is ParseStatus.VALID:
                    dated = parsed.value
                    assert isinstance(dated, date)
                    row.waiting = (row.today - dated).days < self.required_grace_days
        return row.waiting

    def _shown(self, plan: _FieldCheckPlan, row: _Row) -> bool | None:
        """Branching logic on the stored values, as REDCap evaluates it (invalid values are
        not blanked); None if it cannot be evaluated on this row."""
        key = plan.logic_key
        known = row.shown.get(key)
        if known is not None:
            return known
        columns = row.own_row_logic.get(key)
        remembered: tuple[object, ...] | None = None
        if columns is not None:
            get = row.values.get
            remembered = (key, *[get(column, "") for column in columns])
            known = self._shown_memo.get(remembered)
            if known is not None:
                row.shown[key] = known
                return known
        if row.context is None:
            row.context = RecordContext(
                schema=self.schema,
                record=row.record,
                event=row.event,
                instance=row.instance,
                repeat_instrument=row.repeat_instrument,
                today=row.today,
                now=None,
                missing_codes=self.missing_codes,
            )
        assert plan.logic is not None
        try:
            shown = row.shown[key] = plan.logic.is_true(row.context)
        except LogicError as exc:  # a reference the up-front check could not rule out
            self._logic_error(plan.name, str(exc))
            return None
        if remembered is not None and len(self._shown_memo) < SHOWN_MEMO_SIZE:
            self._shown_memo[remembered] = shown
        return shown

    def _finding(
        self,
        rule: GenericRule,
        form: _FormPlan,
        plan: _FieldCheckPlan,
        row: _Row,
        message: str,
        evidence: dict[str, str],
    ) -> Finding:
        kind, severity = RULES[rule]
        return Finding(
            rule=rule.value,
            kind=kind,
            severity=severity,
            record=row.record.record_id,
            event=row.event,
            instrument=form.form,
            instance=row.instance,
            field=plan.name,
            message=message,
            evidence=evidence,
        )


def _rows_by_event(
    record: RecordData,
) -> tuple[
    dict[str | None, Mapping[str, str]],
    dict[tuple[str | None, str], list[tuple[int, Mapping[str, str]]]],
]:
    """The record's base rows by event, and its repeating rows by (event, repeat
    instrument), instances ascending: one pass over the rows instead of a look-up per event
    and form."""
    base: dict[str | None, Mapping[str, str]] = {}
    found: defaultdict[tuple[str | None, str], list[tuple[int, Mapping[str, str]]]]
    found = defaultdict(list)
    for key, values in record.rows.items():
        if key.instance:
            found[(key.event, key.repeat_instrument)].append((key.instance, values))
        elif key.instance is None and not key.repeat_instrument:
            base[key.event] = values
    for rows in found.values():
        rows.sort(key=lambda item: item[0])
    return base, found


def _stores_nothing(form: _FormPlan, values: Mapping[str, str]) -> bool:
    """Every column of the form is "" (a checkbox option may be "0"): no check can find
    anything (nothing is typed, filled or has data), so the field loop is skipped. Most
    forms of most rows are like this."""
    get = values.get
    for column in form.value_columns:
        if get(column):
            return False
    for column in form.checkbox_columns:
        raw = get(column)
        if raw and raw != "0":
            return False
    return True


def _has_data(form: _FormPlan, values: Mapping[str, str]) -> bool:
    """A form has data when any of its fields but the record ID is filled; ``*_complete``
    is not a field of the form, and an unchecked checkbox option (``"0"``) is not data."""
    for column in form.value_columns:
        if not is_blank(values.get(column, "")):
            return True
    return any(values.get(column, "").strip() == "1" for column in form.checkbox_columns)


def _evidence(plan: _FieldCheckPlan, values: Mapping[str, str]) -> dict[str, str]:
    return {column: values.get(column, "") for column in plan.columns}


def run_generic_checks(
    schema: ProjectSchema,
    record: RecordData,
    *,
    today: date,
    exclude_forms: frozenset[str] = frozenset(),
) -> list[Finding]:
    """One record through a fresh :class:`GenericChecker`. For many records, build the checker
    once and call :meth:`GenericChecker.check`; its ``logic_errors`` are dropped here."""
    return GenericChecker(schema, exclude_forms=exclude_forms).check(record, today)
