"""A small longitudinal project with a field of every type, a repeating event and a
repeating instrument, and two records of it (one as entered, one with padded values), for
reading references in logic."""

from __future__ import annotations

from datetime import date

from worker.core.records import RecordData, RowKey
from worker.core.schema import ProjectSchema

TODAY = date(2026, 11, 26)


def field(name: str, form: str, kind: str = "text", **extra: str) -> dict[str, str]:
    return {"field_name": name, "form_name": form, "field_type": kind, **extra}


def choices(text: str) -> dict[str, str]:
    return {"select_choices_or_calculations": text}


def validation(name: str) -> dict[str, str]:
    return {"text_validation_type_or_show_slider_number": name}


METADATA = [
    field("record_id", "demo"),
    field("age", "demo", **validation("integer")),
    field("height", "demo", **validation("number_1dp")),
    field("weight_eu", "demo", **validation("number_comma_decimal")),
    field("name", "demo"),
    field("dob", "demo", **validation("date_ymd")),
    field("race", "demo", "checkbox", **choices("1, White | 2, Black | -1, Unknown")),
    field("sex", "demo", "radio", **choices("1, Male | 2, Female")),
    field("grade", "demo", "dropdown", **choices("A, Good | B, Bad")),
    field("bmi", "demo", "calc", **choices("[weight]/[height]")),
    field("pain", "demo", "slider"),
    field("smoker", "demo", "yesno"),
    field("agree", "demo", "truefalse"),
    field("comments", "demo", "notes"),
    field("intro", "demo", "descriptive"),
    field("scan", "demo", "file"),
    field("v_weight", "visit", **validation("number")),
    field("v_date", "visit", **validation("date_ymd")),
    field("ae_term", "ae"),
    field("ae_grade", "ae", "radio", **choices("1, Mild | 2, Severe")),
]


EVENTS = [
    {"unique_event_name": "baseline_arm_1", "event_name": "Baseline", "arm_num": 1},
    {"unique_event_name": "visit_arm_1", "event_name": "Visit", "arm_num": 1},
    {"unique_event_name": "followup_arm_1", "event_name": "Follow-up", "arm_num": 1},
    {"unique_event_name": "other_arm_2", "event_name": "Other", "arm_num": 2},
]


MAPPING = [
    {"unique_event_name": "baseline_arm_1", "form": "demo"},
    {"unique_event_name": "visit_arm_1", "form": "visit"},
    {"unique_event_name": "followup_arm_1", "form": "visit"},
    {"unique_event_name": "followup_arm_1", "form": "ae"},
    {"unique_event_name": "other_arm_2", "form": "demo"},
]


REPEATING = [
    {"event_name": "visit_arm_1", "form_name": ""},  # the whole event repeats
    {"event_name": "followup_arm_1", "form_name": "ae"},  # one instrument repeats
]


SCHEMA = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 1},
    metadata=METADATA,
    events=EVENTS,
    form_event_mapping=MAPPING,
    repeating=REPEATING,
)


BASELINE = RowKey("baseline_arm_1", "", None)


FOLLOWUP = RowKey("followup_arm_1", "", None)


def visit(instance: int) -> RowKey:
    return RowKey("visit_arm_1", "", instance)


def ae(instance: int) -> RowKey:
    return RowKey("followup_arm_1", "ae", instance)


RECORD = RecordData(
    "101",
    {
        BASELINE: {
            "record_id": "101",
            "age": "34",
            "height": "1.8",
            "weight_eu": "72,5",
            "name": "Ann",
            "dob": "1992-03-04",
            "race___1": "1",
            "race___2": "0",
            "race____1": "",
            "sex": "2",
            "grade": "A",
            "demo_complete": "2",
        },
        visit(1): {"v_weight": "70", "v_date": "2026-01-01"},
        visit(2): {"v_weight": "71", "v_date": "2026-02-01"},
        visit(3): {"v_weight": "72", "v_date": ""},
        FOLLOWUP: {"v_weight": "80"},
        ae(1): {"ae_term": "Headache", "ae_grade": "1"},
        ae(2): {"ae_term": "Nausea", "ae_grade": "2"},
    },
    data_access_group="site_a",
)


# Values REDCap would have trimmed on save: only spaces, and padding around formatted values.
PADDED = RecordData(
    "102",
    {
        BASELINE: {
            "record_id": "102",
            "age": " 34 ",
            "height": "1.8\t",
            "weight_eu": " 72,5 ",
            "name": "  Ann ",
            "dob": " 1992-03-04",
            "race___1": " 1 ",
            "race___2": "  ",
            "sex": "   ",
            "grade": " A",
            "comments": " \n ",
            "demo_complete": "2 ",
        },
        visit(1): {"v_weight": "  ", "v_date": "2026-01-01 "},
    },
)
