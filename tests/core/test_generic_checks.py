"""The generic data-dictionary checks: the specification of ``worker.core.generic_checks``.

Small hand-built projects: ``LONG`` (longitudinal: a base event, a repeating event, an event
with a repeating instrument, and a query form to exclude) and ``CLASSIC`` (no events, one
repeating instrument). Each test builds the record it needs.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.examples import examples
from tests.support.projects import demo_schema
from worker.core import generic_checks
from worker.core.findings import Finding, Kind, Severity
from worker.core.generic_checks import RULES, GenericChecker, GenericRule, run_generic_checks
from worker.core.logic import Expression, LogicReferenceError
from worker.core.records import RecordData, RowKey, group_rows
from worker.core.schema import ProjectSchema

TODAY = date(2026, 3, 1)


def meta(
    name: str,
    form: str,
    field_type: str = "text",
    *,
    validation: str = "",
    lo: str = "",
    hi: str = "",
    choices: str = "",
    required: bool = False,
    logic: str = "",
    label: str = "",
) -> dict[str, str]:
    """One metadata row in REDCap's export shape."""
    return {
        "field_name": name,
        "form_name": form,
        "section_header": "",
        "field_type": field_type,
        "field_label": label or name.replace("_", " ").capitalize(),
        "select_choices_or_calculations": choices,
        "field_note": "",
        "text_validation_type_or_show_slider_number": validation,
        "text_validation_min": lo,
        "text_validation_max": hi,
        "identifier": "",
        "branching_logic": logic,
        "required_field": "y" if required else "",
        "custom_alignment": "",
        "question_number": "",
        "matrix_group_name": "",
        "matrix_ranking": "",
        "field_annotation": "",
    }


METADATA = [
    meta("record_id", "demo", label="Record ID"),
    meta("dob", "demo", validation="date_ymd", required=True, label="Date of birth"),
    meta("age", "demo", validation="integer", lo="18", hi="50", required=True, label="Age"),
    meta("sex", "demo", "radio", choices="1, Female | 2, Male", required=True, label="Sex"),
    meta("consent", "demo", "yesno", required=True, label="Consent signed"),
    meta(
        "consent_date",
        "demo",
        validation="date_ymd",
        hi="today",
        required=True,
        logic="[consent] = '1'",
        label="Consent date",
    ),
    meta("race", "demo", "checkbox", choices="1, A | 2, B | 3, C", required=True, label="Race"),
    meta("demo_note", "demo", "notes", label="Notes"),
    meta("intro", "demo", "descriptive", required=True, label="Please fill in"),
    meta("v_date", "visit", validation="date_ymd", required=True, label="Visit date"),
    meta("v_weight", "visit", validation="number", lo="30", hi="200", required=True),
    meta("v_done", "visit", "yesno", required=True, label="Visit done"),
    meta("v_reason", "visit", "notes", required=True, logic="[v_done] = '0'", label="Reason"),
    meta("ae_term", "ae", required=True, label="Adverse event"),
    meta("ae_grade", "ae", "dropdown", choices="1, Mild | 2, Severe", required=True),
    meta("dq_text", "dq", required=True, label="Query text"),
    meta("dq_n", "dq", validation="integer"),
]
EVENTS = [
    {"event_name": n, "arm_num": 1, "unique_event_name": n}
    for n in ("base_arm_1", "visit_arm_1", "fu_arm_1", "dq_arm_1")
]
MAPPING = [
    {"arm_num": 1, "unique_event_name": e, "form": f}
    for e, f in [
        ("base_arm_1", "demo"),
        ("visit_arm_1", "visit"),
        ("fu_arm_1", "visit"),
        ("fu_arm_1", "ae"),
        ("dq_arm_1", "dq"),
    ]
]
REPEATING = [
    {"event_name": "visit_arm_1", "form_name": ""},
    {"event_name": "fu_arm_1", "form_name": "ae"},
    {"event_name": "dq_arm_1", "form_name": "dq"},
]
LONG = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 1},
    metadata=METADATA,
    events=EVENTS,
    form_event_mapping=MAPPING,
    repeating=REPEATING,
)
CLASSIC = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 0},
    metadata=[
        meta("study_id", "baseline"),
        meta("bl_date", "baseline", validation="date_ymd", required=True, label="Baseline date"),
        meta("bl_smoker", "baseline", "yesno", required=True),
        meta(
            "bl_packs", "baseline", validation="integer", required=True, logic="[bl_smoker] = '1'"
        ),
        meta("med_name", "meds", required=True, label="Medication"),
        meta("med_dose", "meds", validation="number", lo="0", required=True, label="Dose"),
    ],
    repeating=[{"form_name": "meds"}],
)

CLEAN_DEMO = {
    "dob": "1990-05-01",
    "age": "35",
    "sex": "1",
    "consent": "1",
    "consent_date": "2026-01-10",
    "race___1": "1",
    "race___2": "0",
    "race___3": "0",
    "demo_note": "",
    "demo_complete": "2",
}
CLEAN_VISIT = {"v_date": "2026-02-01", "v_weight": "61.5", "v_done": "1", "v_reason": ""}


def record(rows: dict[RowKey, dict[str, str]], record_id: str = "7") -> RecordData:
    return RecordData(record_id, rows={k: {"record_id": record_id, **v} for k, v in rows.items()})


def base(event: str | None = "base_arm_1") -> RowKey:
    return RowKey(event, "", None)


def check(rec: RecordData, schema: ProjectSchema = LONG, **kw: Any) -> list[Finding]:
    kw.setdefault("exclude_forms", {"dq"})
    return GenericChecker(schema, **kw).check(rec, TODAY)


def summary(findings: list[Finding]) -> list[tuple[str, str | None, int | None, str | None]]:
    """(rule, event, instance, field) of each finding, in order."""
    return [(f.rule, f.event, f.instance, f.field) for f in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, summary(findings)
    return findings[0]


# --- the rule table -----------------------------------------------------------------------


def test_kinds_and_severities_follow_the_protocol() -> None:
    assert {rule.value: RULES[rule] for rule in GenericRule} == {
        "DQ-REQUIRED": (Kind.QUERY, Severity.MINOR),
        "DQ-TYPE": (Kind.QUERY, Severity.MAJOR),
        "DQ-RANGE": (Kind.QUERY, Severity.MINOR),
        "DQ-CHOICE": (Kind.QUERY, Severity.MAJOR),
        "DQ-HIDDEN": (Kind.QUERY, Severity.MINOR),
    }


def test_a_clean_record_has_no_findings() -> None:
    rec = record(
        {
            base(): CLEAN_DEMO,
            RowKey("visit_arm_1", "", 1): CLEAN_VISIT,
            RowKey("visit_arm_1", "", 2): CLEAN_VISIT,
        }
    )
    assert check(rec) == []


# --- DQ-REQUIRED --------------------------------------------------------------------------


def test_required_blank_fires_with_location_message_and_evidence() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "dob": ""}})))
    assert finding.rule == "DQ-REQUIRED"
    assert (finding.kind, finding.severity) == (Kind.QUERY, Severity.MINOR)
    assert (finding.record, finding.event, finding.instrument, finding.instance) == (
        "7",
        "base_arm_1",
        "demo",
        None,
    )
    assert finding.field == "dob"
    assert finding.message == "Date of birth is required but blank."
    assert finding.evidence == {"dob": ""}


def test_whitespace_only_counts_as_blank() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "dob": "   "}})))
    assert (finding.rule, finding.field) == ("DQ-REQUIRED", "dob")


def test_blank_optional_field_is_fine() -> None:
    assert check(record({base(): {**CLEAN_DEMO, "demo_note": ""}})) == []


def test_descriptive_fields_are_never_required() -> None:
    assert all(f.field != "intro" for f in check(record({base(): {"dob": "1990-01-01"}})))


def test_required_blank_checkbox_means_no_option_checked() -> None:
    rec = record({base(): {**CLEAN_DEMO, "race___1": "0", "race___2": "0", "race___3": "0"}})
    finding = only(check(rec))
    assert (finding.rule, finding.field) == ("DQ-REQUIRED", "race")
    assert finding.message == "Race is required but no option is checked."
    assert finding.evidence == {"race___1": "0", "race___2": "0", "race___3": "0"}


def test_one_checked_option_fills_a_checkbox() -> None:
    rec = record({base(): {**CLEAN_DEMO, "race___1": "0", "race___3": "1"}})
    assert check(rec) == []


def test_a_form_without_data_is_not_required_to_be_filled() -> None:
    # REDCap's defaults for a designated, never-saved form: checkboxes "0", status "0".
    empty_demo = {"dob": "", "age": "", "race___1": "0", "race___2": "0", "race___3": "0"}
    assert check(record({base(): {**empty_demo, "demo_complete": "0"}})) == []


def test_form_status_alone_is_not_data() -> None:
    assert check(record({base(): {"demo_complete": "2"}})) == []


def test_the_record_id_alone_is_not_data() -> None:
    assert check(record({base(): {}})) == []


def test_one_filled_field_makes_every_required_blank_count() -> None:
    findings = check(record({base(): {"demo_note": "called the site"}}))
    assert summary(findings) == [
        ("DQ-REQUIRED", "base_arm_1", None, name)
        for name in ("dob", "age", "sex", "consent", "race")  # consent_date: branching false
    ]


def test_a_checked_option_alone_is_data() -> None:
    findings = check(record({base(): {"race___2": "1"}}))
    assert {f.field for f in findings} == {"dob", "age", "sex", "consent"}


def test_an_invalid_value_still_fills_its_field() -> None:
    # Reported by DQ-TYPE, not also as missing.
    finding = only(check(record({base(): {**CLEAN_DEMO, "dob": "1990-02-30"}})))
    assert finding.rule == "DQ-TYPE"


# --- branching: REQUIRED and HIDDEN -------------------------------------------------------


def test_required_under_true_branching_fires() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "consent_date": ""}})))
    assert (finding.rule, finding.field) == ("DQ-REQUIRED", "consent_date")


def test_required_under_false_branching_does_not_fire() -> None:
    assert check(record({base(): {**CLEAN_DEMO, "consent": "0", "consent_date": ""}})) == []


def test_filled_field_under_false_branching_is_hidden() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "consent": "0"}})))
    assert finding.rule == "DQ-HIDDEN"
    assert (finding.kind, finding.severity) == (Kind.QUERY, Severity.MINOR)
    assert finding.field == "consent_date"
    assert finding.evidence == {"consent_date": "2026-01-10"}
    assert "2026-01-10" not in finding.message
    assert finding.message.startswith("Consent date has a value, but its branching logic hides")


def test_blank_controlling_field_hides_too() -> None:
    findings = check(record({base(): {**CLEAN_DEMO, "consent": ""}}))
    assert summary(findings) == [
        ("DQ-REQUIRED", "base_arm_1", None, "consent"),
        ("DQ-HIDDEN", "base_arm_1", None, "consent_date"),
    ]


def test_filled_field_without_branching_is_never_hidden() -> None:
    assert check(record({base(): CLEAN_DEMO})) == []


def test_branching_reads_stored_values_invalid_ones_included() -> None:
    # Protocol: branching is evaluated "on the stored values as REDCap does (an invalid
    # value is not blanked here)", unlike the study checks, which read invalid as blank.
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("d", "f", validation="date_ymd"),
            meta("why", "f", required=True, logic="[d] <> ''", label="Why"),
        ],
    )
    # d fails its validation; blanked, ``[d] <> ''`` would be false and hide ``why``.
    stored = {"d": "2026-02-30", "why": "explained"}
    assert summary(check(record({base(None): stored}), schema)) == [("DQ-TYPE", None, None, "d")]
    missing = {"d": "2026-02-30", "why": ""}
    assert summary(check(record({base(None): missing}), schema)) == [
        ("DQ-TYPE", None, None, "d"),
        ("DQ-REQUIRED", None, None, "why"),
    ]


def test_checkbox_under_false_branching_is_hidden_when_an_option_is_checked() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("has_sym", "f", "yesno"),
            meta("sym", "f", "checkbox", choices="1, Cough | 2, Fever", logic="[has_sym] = '1'"),
        ],
    )
    hidden = record({base(None): {"has_sym": "0", "sym___1": "0", "sym___2": "1"}})
    assert summary(check(hidden, schema)) == [("DQ-HIDDEN", None, None, "sym")]
    unchecked = record({base(None): {"has_sym": "0", "sym___1": "0", "sym___2": "0"}})
    assert check(unchecked, schema) == []


def branching_on_another_event() -> ProjectSchema:
    """Two events; a required follow-up field shown only when enrolment chose arm B."""
    return ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "enrol"),
            meta("arm", "enrol", "radio", choices="1, A | 2, B"),
            meta("b_only", "fu", required=True, logic="[enrol_arm_1][arm] = '2'"),
            meta("fu_date", "fu", validation="date_ymd"),
        ],
        events=[{"unique_event_name": "enrol_arm_1"}, {"unique_event_name": "fu_arm_1"}],
        form_event_mapping=[
            {"unique_event_name": "enrol_arm_1", "form": "enrol"},
            {"unique_event_name": "fu_arm_1", "form": "fu"},
        ],
    )


def test_branching_on_another_event() -> None:
    schema = branching_on_another_event()
    fu = {"fu_date": "2026-01-01", "b_only": ""}
    arm_b = record({base("enrol_arm_1"): {"arm": "2"}, base("fu_arm_1"): fu})
    assert summary(check(arm_b, schema)) == [("DQ-REQUIRED", "fu_arm_1", None, "b_only")]
    arm_a = record({base("enrol_arm_1"): {"arm": "1"}, base("fu_arm_1"): fu})
    assert check(arm_a, schema) == []


# --- DQ-TYPE and DQ-RANGE -----------------------------------------------------------------


def test_invalid_date_is_a_type_finding_without_the_value() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "dob": "31/12/1990"}})))
    assert finding.rule == "DQ-TYPE"
    assert (finding.kind, finding.severity) == (Kind.QUERY, Severity.MAJOR)
    assert finding.field == "dob"
    assert finding.message == "Date of birth is not a valid date (expected YYYY-MM-DD)."
    assert finding.evidence == {"dob": "31/12/1990"}


@pytest.mark.parametrize(
    ("raw", "rule"), [("12.5", "DQ-TYPE"), ("abc", "DQ-TYPE"), ("17", "DQ-RANGE")]
)
def test_integer_type_and_range(raw: str, rule: str) -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "age": raw}})))
    assert (finding.rule, finding.field, finding.evidence) == (rule, "age", {"age": raw})
    assert raw not in finding.message


def test_range_finding_names_the_bounds() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "age": "51"}})))
    assert (finding.kind, finding.severity) == (Kind.QUERY, Severity.MINOR)
    assert finding.message == "Age is outside the allowed range 18–50."


def test_values_on_the_bounds_are_in_range() -> None:
    assert check(record({base(): {**CLEAN_DEMO, "age": "18"}})) == []
    assert check(record({base(): {**CLEAN_DEMO, "age": "50"}})) == []


def test_today_bound_uses_the_as_of_date() -> None:
    future = record({base(): {**CLEAN_DEMO, "consent_date": "2026-03-02"}})
    finding = only(check(future))
    assert (finding.rule, finding.message) == ("DQ-RANGE", "Consent date is later than today.")
    on_the_day = record({base(): {**CLEAN_DEMO, "consent_date": TODAY.isoformat()}})
    assert check(on_the_day) == []
    assert GenericChecker(LONG).check(future, date(2026, 3, 2)) == []


def test_an_invalid_value_gets_no_range_finding() -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, "age": "99.5"}})))
    assert finding.rule == "DQ-TYPE"


def test_calc_and_slider_values_are_not_type_checked() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("bmi", "f", "calc", choices="[w]/([h]*[h])"),
            meta("pain", "f", "slider", choices="none | | worst", lo="0", hi="10"),
        ],
    )
    assert check(record({base(None): {"bmi": "NaN", "pain": "x"}}), schema) == []
    assert summary(check(record({base(None): {"pain": "11"}}), schema)) == [
        ("DQ-RANGE", None, None, "pain")
    ]


def test_missing_data_codes_fill_a_field_and_are_not_judged() -> None:
    rec = record({base(): {**CLEAN_DEMO, "dob": "UNK", "sex": "NA", "age": ""}})
    checker = GenericChecker(LONG, exclude_forms={"dq"}, missing_codes={"UNK", "NA"})
    assert summary(checker.check(rec, TODAY)) == [("DQ-REQUIRED", "base_arm_1", None, "age")]
    assert {f.rule for f in check(rec)} == {"DQ-TYPE", "DQ-CHOICE", "DQ-REQUIRED"}


# The project's missing-data codes come from its project info, through the schema.
LONG_WITH_CODES = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 1, "missing_data_codes": "UNK, Unknown | NA, Not applicable"},
    metadata=METADATA,
    events=EVENTS,
    form_event_mapping=MAPPING,
    repeating=REPEATING,
)
UNTICKED_CODES = {"race___unk": "0", "race___na": "0"}


@pytest.mark.parametrize(
    ("field", "code", "rule_without_codes"),
    [
        ("dob", "", "DQ-REQUIRED"),  # the blank, for contrast
        ("dob", "UNK", "DQ-TYPE"),
        ("age", "UNK", "DQ-TYPE"),
        ("age", "NA", "DQ-TYPE"),
        ("sex", "NA", "DQ-CHOICE"),
        ("consent_date", "UNK", "DQ-TYPE"),
        ("consent", "UNK", "DQ-CHOICE"),
    ],
)
def test_a_missing_code_silences_required_type_range_and_choice(
    field: str, code: str, rule_without_codes: str
) -> None:
    rec = record({base(): {**CLEAN_DEMO, **UNTICKED_CODES, field: code}})
    assert rule_without_codes in {f.rule for f in check(rec, LONG)}
    found = check(rec, LONG_WITH_CODES)
    if code:
        # consent UNK is not '1': the consent date is hidden, which a code does not change.
        assert [f for f in found if f.field == field] == []
    else:
        assert summary(found) == [("DQ-REQUIRED", "base_arm_1", None, "dob")]


def test_the_schemas_codes_are_used_unless_the_caller_names_others() -> None:
    rec = record({base(): {**CLEAN_DEMO, **UNTICKED_CODES, "age": "UNK"}})
    assert check(rec, LONG_WITH_CODES) == []
    assert summary(check(rec, LONG_WITH_CODES, missing_codes=())) == [
        ("DQ-TYPE", "base_arm_1", None, "age")
    ]


def test_a_missing_code_in_a_hidden_field_is_still_a_hidden_value() -> None:
    rec = record({base(): {**CLEAN_DEMO, **UNTICKED_CODES, "consent": "0", "consent_date": "NA"}})
    assert summary(check(rec, LONG_WITH_CODES)) == [
        ("DQ-HIDDEN", "base_arm_1", None, "consent_date")
    ]


def test_a_missing_code_alone_gives_a_form_data() -> None:
    rows = {RowKey("visit_arm_1", "", 1): {"v_weight": "UNK"}}
    assert {f.field for f in check(record(rows), LONG_WITH_CODES)} == {"v_date", "v_done"}


def test_a_checkbox_answers_through_its_missing_code_column() -> None:
    unticked = {"race___1": "0", "race___2": "0", "race___3": "0"}
    answered = {**CLEAN_DEMO, **unticked, "race___unk": "1", "race___na": "0"}
    assert check(record({base(): answered}), LONG_WITH_CODES) == []
    blank = {**CLEAN_DEMO, **unticked, **UNTICKED_CODES}
    finding = only(check(record({base(): blank}), LONG_WITH_CODES))
    assert (finding.rule, finding.field) == ("DQ-REQUIRED", "race")
    assert finding.evidence == {**unticked, **UNTICKED_CODES}


def test_junk_in_a_missing_code_column_is_a_choice_problem() -> None:
    rec = record({base(): {**CLEAN_DEMO, "race___unk": "x", "race___na": "0"}})
    assert summary(check(rec, LONG_WITH_CODES)) == [("DQ-CHOICE", "base_arm_1", None, "race")]


def test_branching_logic_knows_the_missing_codes() -> None:
    metadata = [
        meta("record_id", "f"),
        meta("a", "f", validation="integer"),
        meta("why", "f", required=True, logic="isblankormissingcode([a]) and [a] <> ''"),
    ]
    schema = ProjectSchema.from_exports(
        project_info={"missing_data_codes": "UNK, Unknown"}, metadata=metadata
    )
    assert summary(check(record({base(None): {"a": "UNK"}}), schema)) == [
        ("DQ-REQUIRED", None, None, "why")
    ]
    assert check(record({base(None): {"a": "5"}}), schema) == []


def test_a_value_of_only_spaces_is_blank_in_branching_logic() -> None:
    # consent "  " is blank: consent = '1' is false, so a consent date is hidden.
    rec = record({base(): {**CLEAN_DEMO, "consent": "  "}})
    assert summary(check(rec)) == [
        ("DQ-REQUIRED", "base_arm_1", None, "consent"),
        ("DQ-HIDDEN", "base_arm_1", None, "consent_date"),
    ]


def test_padded_values_are_read_trimmed_in_branching_logic() -> None:
    rec = record({base(): {**CLEAN_DEMO, "consent": " 1 ", "consent_date": " 2026-01-10 "}})
    assert check(rec) == []


# --- DQ-CHOICE ----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "raw"), [("sex", "3"), ("sex", "Female"), ("sex", "01")])
def test_unknown_radio_codes(field: str, raw: str) -> None:
    finding = only(check(record({base(): {**CLEAN_DEMO, field: raw}})))
    assert finding.rule == "DQ-CHOICE"
    assert (finding.kind, finding.severity) == (Kind.QUERY, Severity.MAJOR)
    assert finding.field == field
    assert finding.evidence == {field: raw}
    assert finding.message == "Sex holds a code that is not among the field's choices."


def test_unknown_yesno_code() -> None:
    rows = {RowKey("visit_arm_1", "", 1): {**CLEAN_VISIT, "v_done": "2"}}
    finding = only(check(record(rows)))
    assert (finding.rule, finding.instance, finding.field) == ("DQ-CHOICE", 1, "v_done")


def test_an_invalid_code_hides_what_depends_on_another_code() -> None:
    # consent "2" is not "1": consent_date's logic is false, so its value is also hidden.
    findings = check(record({base(): {**CLEAN_DEMO, "consent": "2"}}))
    assert summary(findings) == [
        ("DQ-CHOICE", "base_arm_1", None, "consent"),
        ("DQ-HIDDEN", "base_arm_1", None, "consent_date"),
    ]


def test_a_known_code_is_fine() -> None:
    assert check(record({base(): {**CLEAN_DEMO, "sex": "2"}})) == []


def test_checkbox_junk_is_one_choice_finding_per_field() -> None:
    rec = record({base(): {**CLEAN_DEMO, "race___2": "2", "race___3": "x"}})
    finding = only(check(rec))
    assert (finding.rule, finding.field) == ("DQ-CHOICE", "race")
    assert finding.message == "Race has an option that is neither checked (1) nor unchecked (0)."
    assert finding.evidence == {"race___2": "2", "race___3": "x"}


def test_dropdown_in_a_repeating_instrument() -> None:
    rows = {
        base(): CLEAN_DEMO,
        RowKey("fu_arm_1", "ae", 3): {"ae_term": "Headache", "ae_grade": "9"},
    }
    finding = only(check(record(rows)))
    assert (finding.rule, finding.event, finding.instrument, finding.instance) == (
        "DQ-CHOICE",
        "fu_arm_1",
        "ae",
        3,
    )
    assert "Headache" not in finding.message


# --- where: events, instances, designation, exclusion -------------------------------------


def test_each_repeating_event_instance_is_checked_on_its_own() -> None:
    rows = {
        RowKey("visit_arm_1", "", 1): CLEAN_VISIT,
        RowKey("visit_arm_1", "", 2): {**CLEAN_VISIT, "v_weight": ""},
        RowKey("visit_arm_1", "", 3): {"visit_complete": "0"},  # no data: nothing required
        RowKey("visit_arm_1", "", 4): {**CLEAN_VISIT, "v_date": "2026-13-01"},
    }
    assert summary(check(record(rows))) == [
        ("DQ-REQUIRED", "visit_arm_1", 2, "v_weight"),
        ("DQ-TYPE", "visit_arm_1", 4, "v_date"),
    ]
    assert {f.instrument for f in check(record(rows))} == {"visit"}


def test_branching_is_evaluated_in_the_same_instance() -> None:
    rows = {
        RowKey("visit_arm_1", "", 1): {**CLEAN_VISIT, "v_done": "0", "v_reason": ""},
        RowKey("visit_arm_1", "", 2): {**CLEAN_VISIT, "v_done": "1", "v_reason": "sick"},
    }
    assert summary(check(record(rows))) == [
        ("DQ-REQUIRED", "visit_arm_1", 1, "v_reason"),
        ("DQ-HIDDEN", "visit_arm_1", 2, "v_reason"),
    ]


def test_repeating_instrument_instances_and_the_base_row_of_the_same_event() -> None:
    rows = {
        base("fu_arm_1"): {**CLEAN_VISIT, "v_weight": "250"},
        RowKey("fu_arm_1", "ae", 1): {"ae_term": "Rash", "ae_grade": "1"},
        RowKey("fu_arm_1", "ae", 2): {"ae_term": "", "ae_grade": "2"},
    }
    assert summary(check(record(rows))) == [
        ("DQ-RANGE", "fu_arm_1", None, "v_weight"),
        ("DQ-REQUIRED", "fu_arm_1", 2, "ae_term"),
    ]


def test_forms_not_designated_for_the_event_are_ignored() -> None:
    # ``ae`` and ``visit`` are not designated for base_arm_1: whatever is there is not ours.
    stray = {"ae_term": "", "ae_grade": "9", "v_date": "garbage", "v_weight": "1"}
    assert check(record({base(): {**CLEAN_DEMO, **stray}})) == []


def test_excluded_forms_are_not_checked() -> None:
    rows = {
        base(): CLEAN_DEMO,
        RowKey("dq_arm_1", "dq", 1): {"dq_text": "", "dq_n": "1.5", "dq_complete": "0"},
    }
    assert check(record(rows), exclude_forms={"dq"}) == []
    assert summary(check(record(rows), exclude_forms=frozenset())) == [
        ("DQ-REQUIRED", "dq_arm_1", 1, "dq_text"),
        ("DQ-TYPE", "dq_arm_1", 1, "dq_n"),
    ]


def test_classic_project() -> None:
    rows = {
        base(None): {"bl_date": "2026-02-29", "bl_smoker": "0", "bl_packs": "3"},
        RowKey(None, "meds", 1): {"med_name": "Aspirin", "med_dose": "-1"},
        RowKey(None, "meds", 2): {"med_name": "", "med_dose": "5"},
    }
    findings = check(record(rows), CLASSIC, exclude_forms=frozenset())
    assert summary(findings) == [
        ("DQ-TYPE", None, None, "bl_date"),
        ("DQ-HIDDEN", None, None, "bl_packs"),
        ("DQ-RANGE", None, 1, "med_dose"),
        ("DQ-REQUIRED", None, 2, "med_name"),
    ]
    assert [f.instrument for f in findings] == ["baseline", "baseline", "meds", "meds"]
    assert findings[2].message == "Dose is below the minimum 0."


def test_a_record_without_rows_has_no_findings() -> None:
    assert check(RecordData("1")) == []


def test_the_record_id_field_is_not_checked() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[meta("pid", "f", validation="integer", required=True), meta("x", "f")],
    )
    assert check(RecordData("12-3", rows={base(None): {"pid": "12-3", "x": "a"}}), schema) == []


# --- messages never carry values ----------------------------------------------------------


def test_no_message_quotes_a_record_value() -> None:
    secret = "Zqx-31/02/1990"
    rows = {
        base(): {
            "dob": secret,
            "age": secret,
            "sex": secret,
            "consent": "0",
            "consent_date": secret,
            "race___1": secret,
            "demo_note": secret,
        },
        RowKey("visit_arm_1", "", 1): {"v_weight": "999", "v_done": "1", "v_reason": secret},
    }
    findings = check(record(rows))
    assert {"DQ-TYPE", "DQ-CHOICE", "DQ-HIDDEN", "DQ-RANGE"} <= {f.rule for f in findings}
    for finding in findings:
        assert secret not in finding.message
        assert "999" not in finding.message
        assert secret not in json.dumps(finding.public())
    assert any(secret in f.evidence.values() for f in findings)


DEMO_COLUMNS = [c for c in LONG.export_columns if c != "record_id" and not c.endswith("_complete")]


@examples(60)
@given(
    st.dictionaries(
        st.sampled_from(DEMO_COLUMNS),
        st.one_of(st.sampled_from(["", "0", "1", "2", "2026-01-01", "25"]), st.text(max_size=8)),
    )
)
def test_any_stored_values_give_unique_value_free_findings(values: dict[str, str]) -> None:
    marked = {k: f"Zq{v}" if v and not v.isdigit() else v for k, v in values.items()}
    rows = {
        base(): marked,
        RowKey("visit_arm_1", "", 1): marked,
        RowKey("fu_arm_1", "ae", 1): marked,
    }
    findings = check(record(rows))
    places = [(f.rule, f.event, f.instance, f.field) for f in findings]
    assert len(places) == len(set(places))  # one query per check, record, place and field
    for finding in findings:
        assert "Zq" not in finding.message
        assert finding.evidence


# --- branching logic that cannot be parsed ------------------------------------------------


def test_unparsable_branching_is_reported_once_and_does_not_stop_the_run() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("a", "f", "yesno"),
            meta("b", "f", validation="integer", required=True, logic="[a] = = '1' (("),
            meta("c", "f", required=True),
        ],
    )
    checker = GenericChecker(schema)
    assert len(checker.logic_errors) == 1
    assert "field b" in checker.logic_errors[0]
    records = [
        record({base(None): {"a": "1", "b": "", "c": ""}}, "1"),
        record({base(None): {"a": "0", "b": "x", "c": "ok"}}, "2"),
    ]
    findings = [f for r in records for f in checker.check(r, TODAY)]
    # b: REQUIRED and HIDDEN are not judged without its logic; TYPE still is.
    assert [(f.record, f.rule, f.field) for f in findings] == [
        ("1", "DQ-REQUIRED", "c"),
        ("2", "DQ-TYPE", "b"),
    ]
    assert len(checker.logic_errors) == 1


@pytest.mark.parametrize(
    ("logic", "problem"),
    [
        ("[nowhere] = '1'", "no such field"),
        ("[a(1)] = '1'", "not a checkbox"),
        ("[no_event_arm_1][a] = '1'", "classic project has no events"),
    ],
)
def test_branching_naming_what_the_project_lacks_is_reported_once(logic: str, problem: str) -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("a", "f", "yesno"),
            meta("b", "f", required=True, logic=logic),
        ],
    )
    checker = GenericChecker(schema)
    assert len(checker.logic_errors) == 1
    assert problem in checker.logic_errors[0]
    assert "field b" in checker.logic_errors[0]
    assert checker.check(record({base(None): {"a": "1", "b": ""}}), TODAY) == []
    assert len(checker.logic_errors) == 1


def test_a_logic_error_found_only_while_evaluating_is_reported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(self: Expression, ctx: object) -> bool:
        raise LogicReferenceError("cannot resolve", source=self.source)

    monkeypatch.setattr(Expression, "is_true", fail)
    checker = GenericChecker(LONG, exclude_forms={"dq"})
    rows = {base(): {**CLEAN_DEMO, "consent": "0"}, RowKey("visit_arm_1", "", 1): CLEAN_VISIT}
    for record_id in ("1", "2"):
        # consent_date would be HIDDEN, v_reason REQUIRED-or-not: neither is judged.
        assert checker.check(record(rows, record_id), TODAY) == []
    assert len(checker.logic_errors) == 2
    assert "consent_date" in checker.logic_errors[0]
    assert "v_reason" in checker.logic_errors[1]


def test_excluded_forms_logic_is_not_parsed() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[meta("record_id", "f"), meta("q", "dq", logic="((")],
    )
    assert GenericChecker(schema, exclude_forms={"dq"}).logic_errors == []
    assert len(GenericChecker(schema).logic_errors) == 1


# --- one checker, many records -----------------------------------------------------------
# A checker runs over a whole project: what it learns on one record (a value's verdict, what
# branching logic said of some values) never decides another record's findings wrongly.


def test_one_checker_judges_each_record_by_its_own_values() -> None:
    checker = GenericChecker(LONG, exclude_forms={"dq"})
    hidden = record({base(): {**CLEAN_DEMO, "consent": "0"}})
    shown = record({base(): CLEAN_DEMO})
    for rec in (hidden, shown, hidden, shown):
        assert checker.check(rec, TODAY) == check(rec)
    assert summary(checker.check(hidden, TODAY)) == [
        ("DQ-HIDDEN", "base_arm_1", None, "consent_date")
    ]


def test_one_checker_reads_branching_on_another_event_per_record() -> None:
    schema = branching_on_another_event()
    checker = GenericChecker(schema)
    fu = {"fu_date": "2026-01-01", "b_only": ""}  # the same in every record
    arm_b = record({base("enrol_arm_1"): {"arm": "2"}, base("fu_arm_1"): fu})
    arm_a = record({base("enrol_arm_1"): {"arm": "1"}, base("fu_arm_1"): fu})
    for _ in range(2):
        assert summary(checker.check(arm_b, TODAY)) == [("DQ-REQUIRED", "fu_arm_1", None, "b_only")]
        assert checker.check(arm_a, TODAY) == []


def test_one_checker_reads_a_repeating_forms_branching_on_the_base_row_per_record() -> None:
    # ``ae_action`` (a repeating instrument) depends on ``v_done`` (its event's base row):
    # the instance rows are alike, the base rows are not.
    schema = ProjectSchema.from_exports(
        project_info={"is_longitudinal": 1},
        metadata=[
            meta("record_id", "visit"),
            meta("v_done", "visit", "yesno"),
            meta("ae_term", "ae"),
            meta("ae_action", "ae", required=True, logic="[v_done] = '0'"),
        ],
        events=[{"unique_event_name": "fu_arm_1"}],
        form_event_mapping=[
            {"unique_event_name": "fu_arm_1", "form": "visit"},
            {"unique_event_name": "fu_arm_1", "form": "ae"},
        ],
        repeating=[{"event_name": "fu_arm_1", "form_name": "ae"}],
    )
    checker = GenericChecker(schema)
    ae = {"ae_term": "Rash", "ae_action": ""}

    def with_visit(done: str) -> RecordData:
        return record({base("fu_arm_1"): {"v_done": done}, RowKey("fu_arm_1", "ae", 1): ae})

    for _ in range(2):
        assert summary(checker.check(with_visit("0"), TODAY)) == [
            ("DQ-REQUIRED", "fu_arm_1", 1, "ae_action")
        ]
        assert checker.check(with_visit("1"), TODAY) == []


def test_one_checker_evaluates_branching_on_today_on_each_day_asked() -> None:
    schema = ProjectSchema.from_exports(
        project_info=None,
        metadata=[
            meta("record_id", "f"),
            meta("d", "f", validation="date_ymd"),
            meta("late", "f", required=True, logic="datediff([d], 'today', 'd') > 30"),
        ],
    )
    checker = GenericChecker(schema)
    rec = record({base(None): {"d": "2026-01-01", "late": ""}})
    assert checker.check(rec, date(2026, 1, 15)) == []
    assert summary(checker.check(rec, date(2026, 3, 1))) == [("DQ-REQUIRED", None, None, "late")]
    assert checker.check(rec, date(2026, 1, 15)) == []


def test_one_checker_judges_a_today_bound_on_each_day_asked() -> None:
    checker = GenericChecker(LONG, exclude_forms={"dq"})
    rec = record({base(): {**CLEAN_DEMO, "consent_date": "2026-03-02"}})
    assert summary(checker.check(rec, TODAY)) == [("DQ-RANGE", "base_arm_1", None, "consent_date")]
    assert checker.check(rec, date(2026, 3, 2)) == []
    assert len(checker.check(rec, TODAY)) == 1


def test_a_checker_whose_memos_are_full_still_judges_every_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(generic_checks, "SHOWN_MEMO_SIZE", 1)
    monkeypatch.setattr(generic_checks, "VERDICT_MEMO_SIZE", 1)
    checker = GenericChecker(LONG, exclude_forms={"dq"})
    records = [
        record({base(): {**CLEAN_DEMO, "consent": consent, "age": age}})
        for consent in ("0", "1", "", "7")
        for age in ("35", "9", "x")
    ]
    for rec in records * 2:
        assert checker.check(rec, TODAY) == check(rec)


def test_fields_no_check_reports_on_still_give_their_form_data() -> None:
    # ``demo_note`` (free text, optional, no branching) is not judged, yet it alone makes
    # the form's required fields count.
    rec = record({base(): {"demo_note": "seen"}})
    assert {f.field for f in check(rec)} == {"dob", "age", "sex", "consent", "race"}


# --- one value's verdict ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "raw", "verdict"),
    [
        (meta("n", "f", validation="integer", lo="1", hi="5"), "3", (True, None)),
        (meta("n", "f", validation="integer", lo="1", hi="5"), " ", (False, None)),
        (
            meta("n", "f", validation="integer", lo="1", hi="5", label="Count"),
            "9",
            (True, (GenericRule.RANGE, "Count is outside the allowed range 1–5.")),
        ),
        (
            meta("n", "f", validation="integer", label="Count"),
            "3.5",
            (True, (GenericRule.TYPE, "Count is not a whole number.")),
        ),
        (
            meta("n", "f", "radio", choices="1, A | 2, B", label="Choice"),
            "3",
            (
                True,
                (
                    GenericRule.CHOICE,
                    "Choice holds a code that is not among the field's choices.",
                ),
            ),
        ),
        (meta("n", "f", validation="integer"), "UNK", (True, None)),  # a missing-data code
        (meta("n", "f", "calc", choices="1+1"), "NaN", (True, None)),  # REDCap's to compute
        (meta("n", "f", "notes"), "anything", (True, None)),
        (meta("n", "f", "notes"), "  ", (False, None)),
    ],
)
def test_the_verdict_on_one_stored_value(
    definition: dict[str, str], raw: str, verdict: generic_checks.Verdict
) -> None:
    schema = ProjectSchema.from_exports(
        project_info=None, metadata=[meta("record_id", "f"), definition]
    )
    judge = generic_checks.value_judge(schema.fields["n"], missing_codes={"UNK"})
    assert judge(raw, TODAY) == verdict


# --- the thin wrapper ---------------------------------------------------------------------


def test_run_generic_checks_matches_the_checker() -> None:
    rec = record({base(): {**CLEAN_DEMO, "age": "9", "sex": ""}})
    findings = run_generic_checks(LONG, rec, today=TODAY, exclude_forms=frozenset({"dq"}))
    assert findings == check(rec)
    assert summary(findings) == [
        ("DQ-RANGE", "base_arm_1", None, "age"),
        ("DQ-REQUIRED", "base_arm_1", None, "sex"),
    ]


# --- smoke test on the real project definition --------------------------------------------


def nk_schema() -> ProjectSchema:
    return demo_schema()


def nk_rows() -> list[dict[str, Any]]:
    """Export-shaped rows of two participants; record 2 has a few problems."""

    def row(rid: str, event: str, instrument: str = "", instance: int | str = "", **v: str):
        return {
            "record_id": rid,
            "redcap_event_name": event,
            "redcap_repeat_instrument": instrument,
            "redcap_repeat_instance": instance,
            **v,
        }

    screening = {
        "enr_screen_date": "2026-01-05",
        "enr_age": "31",
        "enr_indication": "1",
        "enr_fertility_need": "1",
        "icf_signed": "1",
        "icf_date": "2026-01-05",
        "icf_version": "2",
        "mba_date": "2026-01-06",
        "mba_cycle_day": "2",
        "mba_cd56bright_pct": "41.5",
        "mba_cd49a_pct": "22",
        "mba_unk_status": "2",
        "enrollment_complete": "2",
    }
    treatment = {
        "pb_date": "2026-01-20",
        "pb_volume_ml": "50",
        "cp_culture_start": "2026-01-20",
        "cp_harvest_date": "2026-02-01",
        "cp_cell_count": "120",
        "cp_viability_pct": "92",
        "cp_dnk_pct": "71",
        "cp_sterility": "1",
        "cp_mycoplasma": "1",
        "cp_endotoxin": "0.1",
        "cp_released": "1",
        "cp_release_date": "2026-02-02",
        "inf_date": "2026-02-03",
        "inf_dose": "20",
        "inf_volume_ml": "0.5",
        "inf_completed": "1",
    }
    return [
        row("1", "screening_arm_1", **screening),
        row("1", "treatment_arm_1", "", 1, **treatment),
        row("1", "queries_arm_1", "data_query", 1, dq_id="x", dq_rule="DQ-TYPE"),
        row("2", "screening_arm_1", **{**screening, "enr_age": "17", "icf_date": "2026-02-30"}),
        row("2", "treatment_arm_1", "", 1, **{**treatment, "cp_sterility": "4"}),
        row(
            "2",
            "treatment_arm_1",
            "",
            2,
            **{**treatment, "inf_completed": "1", "inf_reason_not": "x"},
        ),
        row("2", "fu_m1_arm_1", mba_date="2026-03-03", mba_unk_status="1"),
        row("2", "pregnancy_arm_1", "pregnancy", 1, pg_attempt_start="2026-04-01", pg_hcg_pos="0"),
        row("2", "safety_arm_1", "adverse_event", 1, ae_term="Cramps", ae_serious="0"),
    ]


def test_smoke_on_the_nk_trial_definition() -> None:
    schema = nk_schema()
    checker = GenericChecker(schema, exclude_forms={"data_query"})
    assert checker.logic_errors == []
    records = group_rows(schema, nk_rows())
    assert checker.check(records["1"], TODAY) == []
    findings = checker.check(records["2"], TODAY)
    got = {(f.rule, f.event, f.instance, f.field) for f in findings}
    expected_some = {
        ("DQ-RANGE", "screening_arm_1", None, "enr_age"),
        ("DQ-TYPE", "screening_arm_1", None, "icf_date"),
        ("DQ-CHOICE", "treatment_arm_1", 1, "cp_sterility"),
        ("DQ-HIDDEN", "treatment_arm_1", 2, "inf_reason_not"),
        ("DQ-REQUIRED", "fu_m1_arm_1", None, "mba_cycle_day"),
        ("DQ-REQUIRED", "pregnancy_arm_1", 1, "pg_method"),
        ("DQ-REQUIRED", "safety_arm_1", 1, "ae_onset"),
    }
    assert expected_some <= got
    # pg_hcg_pos = 0 hides the pregnancy details: none of them is required.
    assert ("DQ-REQUIRED", "pregnancy_arm_1", 1, "pg_lmp_date") not in got
    assert all(f.instrument != "data_query" for f in findings)
    assert all(f.record == "2" for f in findings)
    assert not any("Cramps" in f.message for f in findings)


# --- DQ-REQUIRED's grace for data entry -----------------------------------------------------
# The study names the field that dates an event (schedule.toml, [data_entry]); DQ-REQUIRED
# then waits grace_days after that date before calling a required field of the event blank.

GRACE = {"event_dates": {"visit_arm_1": "v_date", "fu_arm_1": "v_date"}, "required_grace_days": 3}


def visit_dated(days_ago: int, **values: str) -> RecordData:
    dated = (TODAY - timedelta(days=days_ago)).isoformat()
    return record({RowKey("visit_arm_1", "", 1): {**CLEAN_VISIT, "v_date": dated, **values}})


def test_a_required_field_of_a_visit_is_not_flagged_on_the_last_day_of_its_grace() -> None:
    assert check(visit_dated(2, v_weight=""), **GRACE) == []  # day 3 - 1 after the visit


def test_a_required_field_of_a_visit_is_flagged_once_its_grace_has_passed() -> None:
    found = only(check(visit_dated(3, v_weight=""), **GRACE))  # day 3 after the visit
    assert (found.rule, found.event, found.instance, found.field) == (
        "DQ-REQUIRED",
        "visit_arm_1",
        1,
        "v_weight",
    )


def test_without_grace_a_visit_of_today_is_flagged_at_once() -> None:
    assert summary(check(visit_dated(0, v_weight=""))) == [
        ("DQ-REQUIRED", "visit_arm_1", 1, "v_weight")
    ]
    no_grace = {**GRACE, "required_grace_days": 0}
    assert len(check(visit_dated(0, v_weight=""), **no_grace)) == 1


def test_a_visit_with_no_valid_date_is_judged_at_once() -> None:
    # Nothing says the visit is recent: its blank required fields are flagged, date included.
    blank = summary(check(visit_dated(0, v_date="", v_weight=""), **GRACE))
    assert blank == [
        ("DQ-REQUIRED", "visit_arm_1", 1, "v_date"),
        ("DQ-REQUIRED", "visit_arm_1", 1, "v_weight"),
    ]
    invalid = [f.rule for f in check(visit_dated(0, v_date="2026-02-30", v_weight=""), **GRACE)]
    assert sorted(invalid) == ["DQ-REQUIRED", "DQ-TYPE"]


def test_grace_holds_back_only_blanks_never_wrong_values() -> None:
    found = only(check(visit_dated(0, v_weight="heavy"), **GRACE))
    assert (found.rule, found.field) == ("DQ-TYPE", "v_weight")


def test_a_repeating_form_waits_on_the_date_of_its_events_base_row() -> None:
    recent = (TODAY - timedelta(days=1)).isoformat()
    old = (TODAY - timedelta(days=30)).isoformat()

    def fu(visit_date: str) -> RecordData:
        return record(
            {
                RowKey("fu_arm_1", "", None): {**CLEAN_VISIT, "v_date": visit_date},
                RowKey("fu_arm_1", "ae", 1): {"ae_term": "Headache", "ae_grade": ""},
            }
        )

    assert check(fu(recent), **GRACE) == []
    assert summary(check(fu(old), **GRACE)) == [("DQ-REQUIRED", "fu_arm_1", 1, "ae_grade")]


def test_events_the_study_does_not_date_never_wait() -> None:
    found = only(check(record({base(): {**CLEAN_DEMO, "dob": ""}}), **GRACE))
    assert (found.rule, found.field) == ("DQ-REQUIRED", "dob")
