"""What ``python -m worker init`` writes: a working study folder for a project, worked out
from the project's structure alone. Pure: the caller reads the project and writes the files.

The folder::

    config.toml              [study] paths relative to it; no URL or token (environment)
    mapping.toml             one part per visit (one per repeating form), and [queries]
    rules/params.toml        a commented example parameter
    rules/logic_rules.toml   a commented example logic rule (adds no finding as written)
    query_instrument.csv     the query instrument as Data Dictionary rows
    query_instrument.zip     the same as an instrument ZIP (instrument.csv inside)

Decisions:

- Parts. A visit is an event's unique name without its ``_arm_N`` suffix. In a project with
  several arms a visit that several arms have is ONE part naming the visit, for the forms
  designated alike in each of its events; a form designated (or repeating) differently in
  some arm's event gets a part for that event alone, named by its unique event name. A
  single-arm project's parts name their events in full (``baseline_arm_1``), which every
  version of the worker reads. A repeating instrument is a part of its own (named after the
  form), apart from the event's other forms: a part must not mix them. A classic project's
  parts name no event: ``record`` for its non-repeating forms, one per repeating form.
- A form with a field named like a participant model's own attribute (``event``,
  ``instance``, ...) is left out of the parts, with a comment: the generic checks still
  cover it, the study checks cannot read it.
- The query instrument. The mapping's ``[queries]`` section is written active, naming the
  instrument the project does not have yet: ``check``, ``report`` and ``doctor`` work
  without it, and ``sync`` refuses in one line saying what to add (:func:`setup_steps`).
  Once it is added nothing needs editing. A project that already holds the worker's query
  instrument (a form holding its fields, whatever its name) keeps it: nothing to add.
- The instrument is added with the Online Designer's instrument ZIP upload, never as the
  Data Dictionary: uploading a Data Dictionary REPLACES the project's whole dictionary, so
  a file holding only the query instrument would delete every other form. The CSV is for
  appending to a downloaded dictionary by hand, or reading.
- The query instrument lives in the first visit every arm has (not a repeating event), as
  a repeating instrument there; with no such visit the steps say to add a ``Queries``
  event to every arm.
"""

from __future__ import annotations

import csv
import io
import json
import keyword
import re
import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel

from worker.core.mapping import PartEntry, Participant, form_repeat_mode
from worker.core.rules.loader import LOGIC_FILE, PARAMS_FILE
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError

CONFIG_FILE = "config.toml"
MAPPING_FILE = "mapping.toml"
RULES_DIR = "rules"
QUERY_CSV = "query_instrument.csv"
QUERY_ZIP = "query_instrument.zip"
# The file name REDCap looks for inside an instrument ZIP.
ZIP_MEMBER = "instrument.csv"

QUERY_FORM = "data_queries"  # a new query instrument's name
QUERY_EVENT_LABEL = "Queries"
CLASSIC_PART = "record"

# Data Dictionary columns: the API's names, and the header REDCap's own download has.
DICTIONARY_COLUMNS = (
    ("field_name", "Variable / Field Name"),
    ("form_name", "Form Name"),
    ("section_header", "Section Header"),
    ("field_type", "Field Type"),
    ("field_label", "Field Label"),
    ("select_choices_or_calculations", "Choices, Calculations, OR Slider Labels"),
    ("field_note", "Field Note"),
    ("text_validation_type_or_show_slider_number", "Text Validation Type OR Show Slider Number"),
    ("text_validation_min", "Text Validation Min"),
    ("text_validation_max", "Text Validation Max"),
    ("identifier", "Identifier?"),
    ("branching_logic", "Branching Logic (Show field only if...)"),
    ("required_field", "Required Field?"),
    ("custom_alignment", "Custom Alignment"),
    ("question_number", "Question Number (surveys only)"),
    ("matrix_group_name", "Matrix Group Name"),
    ("matrix_ranking", "Matrix Ranking?"),
    ("field_annotation", "Field Annotation"),
)

# --- the query instrument --------------------------------------------------------------


@dataclass(frozen=True)
class QueryField:
    role: str  # a QueryFields key
    field_type: str
    label: str
    validation: str = ""
    choices: tuple[tuple[str, str, str], ...] = ()  # (mapping key, code, label)
    section_header: str = ""

    @property
    def name(self) -> str:
        return f"dq_{self.role}"


# One source for both the instrument's choices and the mapping's [queries.codes].
_KIND = (("query", "1", "Data query"), ("deviation", "2", "Protocol deviation"))
_SEVERITY = (("critical", "1", "Critical"), ("major", "2", "Major"), ("minor", "3", "Minor"))
_STATUS = (
    ("open", "1", "Open"),
    ("resolved", "2", "Resolved"),
    ("verified", "3", "Verified by site"),
)
VERIFIED_YES = "1"  # REDCap's yes/no code for Yes

QUERY_FIELDS = (
    QueryField("id", "text", "Query key", section_header="Written by the validation worker"),
    QueryField("rule", "text", "Check ID"),
    QueryField("kind", "dropdown", "Kind", choices=_KIND),
    QueryField("severity", "dropdown", "Severity", choices=_SEVERITY),
    QueryField("event", "text", "Event"),
    QueryField("instrument", "text", "Instrument"),
    QueryField("instance", "text", "Instance", validation="integer"),
    QueryField("field", "text", "Field"),
    QueryField("message", "notes", "What was found"),
    QueryField("status", "dropdown", "Status", choices=_STATUS),
    QueryField("opened_at", "text", "First raised", validation="datetime_seconds_ymd"),
    QueryField("closed_at", "text", "Closed", validation="datetime_seconds_ymd"),
    QueryField("reopen_count", "text", "Times reopened", validation="integer"),
    QueryField("fingerprint", "text", "Values fingerprint"),
    QueryField("response", "notes", "Site response", section_header="Answered by the site"),
    QueryField("verified", "yesno", "Site confirms the data are correct as entered"),
)
# The site's fields: the worker never writes them (but clears `verified` on a reopen).
SITE_ROLES = frozenset({"response", "verified"})


def query_dictionary_rows(form: str) -> list[dict[str, str]]:
    """The query instrument as Data Dictionary rows (the API's column names)."""
    rows = []
    for f in QUERY_FIELDS:
        row = dict.fromkeys((api for api, _ in DICTIONARY_COLUMNS), "")
        row.update(
            field_name=f.name,
            form_name=form,
            section_header=f.section_header,
            field_type=f.field_type,
            field_label=f.label,
            select_choices_or_calculations=" | ".join(f"{c}, {lbl}" for _, c, lbl in f.choices),
            text_validation_type_or_show_slider_number=f.validation,
            # Worker-owned fields are read-only on the form (the API still writes them).
            field_annotation="" if f.role in SITE_ROLES else "@READONLY",
        )
        rows.append(row)
    return rows


def dictionary_csv(rows: Sequence[dict[str, str]]) -> str:
    """Rows as a Data Dictionary CSV with the header REDCap's download has."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header for _, header in DICTIONARY_COLUMNS)
    writer.writerows([row.get(api, "") for api, _ in DICTIONARY_COLUMNS] for row in rows)
    return buffer.getvalue()


def instrument_zip(csv_text: str) -> bytes:
    """An instrument ZIP for the Online Designer's upload (``instrument.csv`` inside),
    byte-for-byte the same for the same CSV."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        member = zipfile.ZipInfo(ZIP_MEMBER, date_time=(1980, 1, 1, 0, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(member, csv_text.encode("utf-8"))
    return buffer.getvalue()


@dataclass(frozen=True)
class QueryPlace:
    """Where the query instrument goes: the mapping's ``queries.event`` (None in a classic
    project), the unique events to designate it in, and what is still to do."""

    event: str | None
    events: tuple[str, ...] = ()
    new_event: bool = False  # no visit fits: add a Queries event to every arm
    ready: bool = False  # the project already has it, repeating where it should


def _visits(schema: ProjectSchema) -> dict[str, list[str]]:
    """Visit -> its unique events in event order, visits in order of first appearance."""
    visits = dict.fromkeys(schema.visit_of(e.unique_name) for e in schema.events)
    return {visit: schema.events_of_visit(visit) for visit in visits}


def _event_name(schema: ProjectSchema, visit: str, events: Sequence[str]) -> str:
    """What the mapping calls a place: the visit with several arms, else the event."""
    return visit if len(schema.arms) > 1 else events[0]


def existing_query_form(schema: ProjectSchema) -> str | None:
    """The form holding the worker's query fields, if the project has it (whatever its name).

    Query field names spread over forms or only some of them, or a form named as a new
    instrument would be: ConfigError, since the instrument cannot be added beside them.
    """
    names = [f.name for f in QUERY_FIELDS]
    forms = {schema.fields[n].form for n in names if n in schema.fields}
    if len(forms) == 1 and all(n in schema.fields for n in names):
        return forms.pop()
    if forms:
        taken = next(n for n in names if n in schema.fields)
        raise ConfigError(
            f"the project has field '{taken}' on form '{schema.fields[taken].form}', a name "
            "the query instrument uses, but not the whole instrument: rename it, or write the "
            "mapping's [queries] section by hand"
        )
    if QUERY_FORM in schema.forms:
        raise ConfigError(
            f"the project has a form '{QUERY_FORM}' that is not the worker's query "
            "instrument: rename that form, or write the mapping's [queries] section by hand"
        )
    return None


def query_place(schema: ProjectSchema, form: str, *, existing: bool) -> QueryPlace:
    """Where the query form goes (or is: ``existing``)."""
    if not schema.is_longitudinal:
        return QueryPlace(event=None, ready=existing and schema.is_repeating_form(None, form))
    arms = set(schema.arms)
    # Visits every arm has: where one query event serves every participant.
    shared = {
        visit: events
        for visit, events in _visits(schema).items()
        if {ev.arm for e in events if (ev := schema.event(e))} == arms
    }
    if existing:
        for visit, events in shared.items():
            if all(schema.is_repeating_form(e, form) for e in events):
                return QueryPlace(_event_name(schema, visit, events), tuple(events), ready=True)
    for visit, events in shared.items():
        if not any(schema.is_repeating_event(e) for e in events):
            return QueryPlace(_event_name(schema, visit, events), tuple(events))
    new = [f"queries_arm_{arm}" for arm in sorted(arms)]
    return QueryPlace(_event_name(schema, "queries", new), tuple(new), new_event=True)


def upload_step(zip_path: str) -> str:
    return (
        f"upload {zip_path} in the Online Designer (Upload instrument ZIP; never as the Data "
        "Dictionary, which replaces every form)"
    )


def setup_steps(place: QueryPlace, form: str, first: str | None) -> str:
    """One line: how to add the query instrument to the project, after ``first`` (how to
    add the form; None when the project has it already)."""
    steps = [first] if first else []
    if place.event is None:
        steps.append(
            f"make '{form}' a repeating instrument (Project Setup > Repeating instruments "
            "and events)"
        )
    else:
        if place.new_event:
            steps.append(
                f"add an event '{QUERY_EVENT_LABEL}' to every arm ({', '.join(place.events)})"
            )
        if len(place.events) == 1:
            where = f"event {place.events[0]}"
        else:
            where = f"the {place.event} event of every arm ({', '.join(place.events)})"
        steps.append(
            f"designate '{form}' for {where} (Designate Instruments for My Events) and "
            "make it a repeating instrument there (Repeating instruments and events)"
        )
    return "; ".join(steps)


def place_of(schema: ProjectSchema, event: str | None) -> QueryPlace:
    """The place a mapping's ``queries.event`` names (an event, or a visit in every arm)."""
    if event is None or not schema.is_longitudinal:
        return QueryPlace(event=None)
    events = schema.events_of_visit(event)
    return QueryPlace(event, tuple(events) or (event,), new_event=not events)


# --- the mapping's parts ---------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    event: str | None
    forms: tuple[str, ...]
    comment: str


@dataclass
class PartsPlan:
    parts: list[Part] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # comment lines: forms not in a part


# A part becomes an attribute of the participant model; a form's fields, attributes of an
# entry. Names these models already use cannot be either.
_TAKEN_BY_MODELS = frozenset(dir(BaseModel)) | frozenset(Participant.model_fields)
_TAKEN_BY_ENTRIES = frozenset(PartEntry.model_fields) | frozenset(Participant.model_fields)


def _mode(schema: ProjectSchema, event: str | None, form: str) -> str | None:
    if form not in schema.forms_of_event(event):
        return None
    return form_repeat_mode(schema, event, [form])


def plan_parts(schema: ProjectSchema, *, skip_forms: Iterable[str] = ()) -> PartsPlan:
    """The mapping's parts for the whole project (see the module's decisions)."""
    plan = PartsPlan()
    skip = set(skip_forms)
    forms: list[str] = []
    for form in schema.forms:
        if form in skip:
            continue
        clash = sorted(
            f.name
            for f in schema.fields_of_form(form)
            if f.name in _TAKEN_BY_ENTRIES and f.name != schema.record_id_field
        )
        if clash:
            plan.left_out.append(
                f"form '{form}' is in no part: its field '{clash[0]}' has a name the "
                "participant model uses itself (the generic checks still cover the form)"
            )
            continue
        forms.append(form)
    if not schema.is_longitudinal:
        plain = [f for f in forms if not schema.is_repeating_form(None, f)]
        if plain:
            plan.parts.append(Part(CLASSIC_PART, None, tuple(plain), "The record's forms"))
        plan.parts.extend(
            Part(f, None, (f,), f"{schema.form_label(f)}: a repeating instrument")
            for f in forms
            if f not in plain
        )
        return _named(plan)
    unplaced = [
        f for f in forms if not any(f in schema.forms_of_event(e) for e in schema.event_names)
    ]
    if unplaced:
        plan.left_out.append(f"designated for no event, so holding no data: {', '.join(unplaced)}")
    several_arms = len(schema.arms) > 1
    for visit, events in _visits(schema).items():
        # Forms designated alike (and repeating alike) in every event of the visit share
        # the visit's parts; the others get parts of their own event.
        alike: list[str] = []
        per_event: dict[str, list[str]] = {e: [] for e in events}
        for form in forms:
            modes = [_mode(schema, e, form) for e in events]
            if None not in modes and len(set(modes)) == 1:
                alike.append(form)
            else:
                for e, m in zip(events, modes, strict=True):
                    if m is not None:
                        per_event[e].append(form)
        label = ", ".join(events)
        visit_label = schema.event_label(events[0])
        if alike:
            name = visit if several_arms else events[0]
            plan.parts.extend(
                _event_parts(schema, visit, name, events[0], alike, f"{visit_label} ({label})")
            )
        for e, own in per_event.items():
            if own:
                where = f"{schema.event_label(e)} ({e}, arm {schema.event(e).arm})"  # type: ignore[union-attr]
                title = e if several_arms else visit
                plan.parts.extend(_event_parts(schema, title, e, e, own, where))
    return _named(plan)


def _event_parts(
    schema: ProjectSchema, title: str, event: str, sample: str, forms: list[str], where: str
) -> list[Part]:
    """The parts of forms in one place: the non-repeating ones together, each repeating
    instrument alone; a repeating event's forms all together."""
    if schema.is_repeating_event(sample):
        return [Part(title, event, tuple(forms), f"{where}: a repeating event")]
    plain = [f for f in forms if not schema.is_repeating_form(sample, f)]
    parts = [Part(title, event, tuple(plain), where)] if plain else []
    parts.extend(
        Part(f, event, (f,), f"{schema.form_label(f)}: a repeating instrument in {where}")
        for f in forms
        if f not in plain
    )
    return parts


def _named(plan: PartsPlan) -> PartsPlan:
    """Part names made valid and unique: a repeating form's part is named after the form
    unless another part has that name (then ``<place>_<form>``); visits are prefixed when
    they start with a digit or clash with a name the models use."""
    counts: dict[str, int] = {}
    for part in plan.parts:
        counts[part.name] = counts.get(part.name, 0) + 1
    taken: set[str] = set()
    named: list[Part] = []
    for part in plan.parts:
        name = part.name
        if counts[name] > 1 and part.forms == (name,) and part.event is not None:
            by_visit = f"{ProjectSchema.visit_of(part.event)}_{name}"
            name = by_visit if by_visit not in counts else f"{part.event}_{name}"
        name = _identifier(name)
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        named.append(Part(name, part.event, part.forms, part.comment))
    return PartsPlan(named, plan.left_out)


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name).strip("_").lower() or "part"
    if name[0].isdigit() or keyword.iskeyword(name) or name in _TAKEN_BY_MODELS:
        name = f"visit_{name}"
    return name


# --- the files -------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, but for DEL)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(text: str) -> str:
    return " ".join(text.split())


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


@dataclass(frozen=True)
class StudyFolder:
    """The files of a study folder (relative path -> text or bytes) and the next steps."""

    files: dict[str, str | bytes]
    parts: int
    query_form: str
    query_place: QueryPlace
    steps: list[str]


def study_folder(schema: ProjectSchema, *, written_on: date, folder: str = "DIR") -> StudyFolder:
    """Everything ``init`` writes for ``schema``; ``folder`` is how the steps name it."""
    existing = existing_query_form(schema)
    form = existing or QUERY_FORM
    place = query_place(schema, form, existing=existing is not None)
    plan = plan_parts(schema, skip_forms=[form])
    if not plan.parts:
        raise ConfigError("the project has no form a mapping could read: nothing to set up")
    rows = query_dictionary_rows(form)
    csv_text = dictionary_csv(rows)
    files: dict[str, str | bytes] = {
        CONFIG_FILE: config_toml(schema, written_on),
        MAPPING_FILE: mapping_toml(schema, plan, form, place, written_on),
        f"{RULES_DIR}/{PARAMS_FILE}": params_toml(schema),
        f"{RULES_DIR}/{LOGIC_FILE}": logic_rules_toml(schema, skip_forms=[form]),
        QUERY_CSV: csv_text,
        QUERY_ZIP: instrument_zip(csv_text),
    }
    config = f"{folder}/{CONFIG_FILE}"
    steps = [
        "set REDCAP_API_URL and REDCAP_API_TOKEN (the config holds neither), then "
        f"`python -m worker doctor --config {config}` and `python -m worker check --config "
        f"{config}`",
    ]
    if not place.ready:
        upload = None if existing else upload_step(f"{folder}/{QUERY_ZIP}")
        steps.append(
            "before the first sync, add the query instrument: " + setup_steps(place, form, upload)
        )
    return StudyFolder(files, len(plan.parts), form, place, steps)


def _project_line(schema: ProjectSchema) -> str:
    name = f"project {schema.project_id}" if schema.project_id is not None else "the project"
    return f"{name} '{_comment(schema.title)}'" if schema.title else name


def config_toml(schema: ProjectSchema, written_on: date) -> str:
    head = "\n".join(
        _comment_block(
            f"Worker configuration for {_project_line(schema)}, written by `python -m worker "
            f"init` on {written_on.isoformat()}. Use it as --config PATH."
        )
    )
    return f"""\
{head}
#
# The REDCap URL and API token are never written here: set REDCAP_API_URL and
# REDCAP_API_TOKEN (or REDCAP_API_TOKEN_FILE, e.g. a Docker secret) in the environment.
# Every other setting (email, schedule, ...) is described in the worker's
# config.example.toml. Relative paths resolve against this file's folder.

# The worker's state folder (cursor, unsent summaries, run history).
state_dir = "state"

[study]
# How REDCap rows become participants, and the study's own checks and parameters.
mapping = "{MAPPING_FILE}"
rules = "{RULES_DIR}"
# The study's timezone: "today" (the default as-of date) is today there.
timezone = "UTC"
"""


def mapping_toml(
    schema: ProjectSchema, plan: PartsPlan, form: str, place: QueryPlace, written_on: date
) -> str:
    arms = schema.arms
    if schema.is_longitudinal:
        shape = f"{len(arms)} arm{'s' if len(arms) != 1 else ''}, {len(schema.events)} events"
    else:
        shape = "classic: no events"
    lines = [
        *_comment_block(
            f"How the REDCap rows of {_project_line(schema)} ({shape}) become participant "
            f"models. Written by `python -m worker init` on {written_on.isoformat()}; edit "
            "freely (`python -m worker doctor` checks it against the live project)."
        ),
        "#",
        "# Each [parts.NAME] is an attribute of a participant (participant.NAME) that the",
        "# study's checks (rules/) read; the generic checks cover every form regardless.",
    ]
    if schema.is_longitudinal:
        lines.append("# - `event`: the event its forms are entered in.")
        if len(arms) > 1:
            lines += [
                "#   With several arms it may name a VISIT, the unique event name without its",
                "#   `_arm_N` suffix: `baseline` stands for baseline_arm_1, baseline_arm_2, ...",
                "#   and for a participant it is the event of their own arm. A full unique name",
                "#   (`baseline_arm_2`) names that arm's event only.",
            ]
    else:
        lines.append("# - no `event`: the project is classic.")
    lines += [
        "# - `forms`: the forms read into the part. Field types come from the data dictionary;",
        "#   an invalid value is None there (the generic checks report it).",
        "# A part whose forms repeat (a repeating instrument or event) is a list with one entry",
        "# per instance; otherwise one entry, None when the record has no data there. A",
        "# repeating instrument and the event's other forms must be separate parts.",
    ]
    for note in plan.left_out:
        lines.append(f"# Note: {_comment(note)}")
    lines += ["", f"study = {_toml_string(schema.title or 'study')}"]
    for part in plan.parts:
        lines += ["", f"# {_comment(part.comment)}", f"[parts.{part.name}]"]
        if part.event is not None:
            lines.append(f"event = {_toml_string(part.event)}")
        lines.append(f"forms = {_toml_list(part.forms)}")
    lines += ["", *_queries_toml(form, place)]
    return "\n".join(lines) + "\n"


def _queries_toml(form: str, place: QueryPlace) -> list[str]:
    if place.ready:
        status = "The project has it already."
    else:
        status = (
            f"The project does not have it yet: add {QUERY_ZIP} (next to this file) as the"
            " init command said; until then check, report and doctor run without it and"
            " sync says what to add."
        )
    lines = [
        "# Where `sync` writes findings back as data queries: a repeating instrument in the",
        "# record (REDCap's API cannot reach its Data Resolution Workflow). Coordinators answer",
        "# in the site's fields (response, verified); the worker writes only its own.",
        *_comment_block(status),
        "[queries]",
    ]
    if place.event is not None:
        lines.append(f"event = {_toml_string(place.event)}")
    lines += [f"form = {_toml_string(form)}", "", "# The field of each role."]
    lines.append("[queries.fields]")
    lines += [f"{f.role} = {_toml_string(f.name)}" for f in QUERY_FIELDS]
    lines += ["", "# The codes of the coded fields (the instrument's choices).", "[queries.codes]"]
    for f in QUERY_FIELDS:
        if f.choices:
            codes = ", ".join(f"{key} = {_toml_string(code)}" for key, code, _ in f.choices)
            lines.append(f"{f.role} = {{ {codes} }}")
    lines.append(f"verified_yes = {_toml_string(VERIFIED_YES)}")
    return lines


def _comment_block(text: str, width: int = 88) -> list[str]:
    return textwrap.wrap(_comment(text), width=width, initial_indent="# ", subsequent_indent="# ")


def params_toml(schema: ProjectSchema) -> str:
    lines = [
        "# The study's parameters: every number and code its checks use, with where in the",
        "# protocol it comes from, so that changing one needs no code change. A check reads",
        "# them as params.<table>.<key>. Names are checked against the project when the rules",
        "# load: a [codes.<field>] table must name a coded field, and its values that field's",
        "# codes. An example (remove the leading '# ' to use it):",
        "#",
        "# [visits]",
        "# # protocol: Schedule of assessments",
        "# window_days = 7  # a visit is on time within 7 days of its target",
    ]
    coded = next(
        (
            f
            for f in schema.fields.values()
            if f.field_type in ("radio", "dropdown") and len(f.choices) >= 2
        ),
        None,
    )
    if coded is not None:
        lines += ["#", f"# [codes.{coded.name}]  # the codes of field {coded.name}, named"]
        for code, label in list(coded.choices.items())[:2]:
            key = re.sub(r"\W+", "_", label.lower()).strip("_") or "code"
            if not re.match(r"[a-z_]", key):
                key = f"code_{key}"
            lines.append(f"# {key} = {_toml_string(code)}")
    return "\n".join(lines) + "\n"


def logic_rules_toml(schema: ProjectSchema, *, skip_forms: Iterable[str] = ()) -> str:
    lines = [
        "# Checks written as REDCap logic, as in REDCap's Data Quality module: the logic is",
        "# TRUE where there is a problem. A rule is evaluated in every event and instance",
        "# where its field's form is designated (or only in its `events`), on valid values",
        "# (an invalid value counts as blank). Checks in Python go in a checks/ package here.",
        "# An example, commented out so that it adds no finding (remove the leading '# ' of",
        "# its lines to use it):",
        "#",
    ]
    lines += [f"# {line}" for line in _example_rule(schema, set(skip_forms))]
    return "\n".join(lines) + "\n"


def _example_rule(schema: ProjectSchema, skip_forms: set[str]) -> list[str]:
    record_id = schema.record_id_field
    candidates = [
        f
        for f in schema.fields.values()
        if f.name != record_id and f.field_type == "text" and f.form not in skip_forms
    ]
    date_field = next((f for f in candidates if (f.validation or "").startswith("date")), None)
    number = next(
        (
            f
            for f in candidates
            if f.validation in ("integer", "number") or (f.validation or "").startswith("number")
        ),
        None,
    )
    if date_field is not None:
        name = date_field.name
        title, logic = f"{name} is in the future", f"datediff('today', [{name}], 'd', true) > 0"
        message = f"The {date_field.label or name} is later than today."
    elif number is not None:
        name = number.name
        title, logic = f"{name} is negative", f"[{name}] < 0"
        message = f"The {number.label or name} is below zero."
    else:
        name = record_id
        title, logic = "Never fires", "1 = 0"
        message = "An example that never fires."
    return [
        "[[rule]]",
        'id = "EX-01"',
        'kind = "query"  # or "deviation" (a protocol deviation)',
        'severity = "minor"  # critical, major or minor',
        f"title = {_toml_string(title)}",
        f"field = {_toml_string(name)}  # where the finding is attached",
        f"logic = {_toml_string(logic)}",
        f"message = {_toml_string(_comment(message))}",
        '# events = ["..."]  # only in these events (default: wherever designated)',
        'protocol = ""  # where in the protocol the rule comes from',
    ]
