"""Checks declared as REDCap logic (worker/core/rules/logic_rules.py): evaluated in each
event and instance, on valid values, with the project's missing codes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.support.toy_study import (
    CLEAN,
    LOGIC,
    MAPPING,
    SCHEMA,
    baseline,
    check_all_records,
    dose,
    load,
    log,
    month,
    places,
    record,
    rules_folder,
)
from worker.core.records import RowKey
from worker.core.rules import load_ruleset
from worker.core.rules.logic_rules import ValidOnly
from worker.errors import MappingError


def test_logic_rules_are_evaluated_in_each_event_and_instance(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    rec = record(
        "1",
        *CLEAN,
        dose(2, visit_status="2"),
        dose(3, visit_status="1"),
        month(1, visit_status="2"),
        month(2, visit_status="2"),  # not one of the rule's events
        baseline(visit_status="2"),  # nor this
        log(1, ae_start="2026-02-10", ae_end="2026-02-09"),
        log(2, ae_start="2026-02-10", ae_end="2026-02-10"),
        log(3, ae_start="2026-02-10", ae_end="2026-02-01"),
    )
    _, found = check_all_records(rules, rec)
    assert places(found) == [
        ("T-AE-ORDER", "1", "log_arm_1", 1, "ae_end"),
        ("T-AE-ORDER", "1", "log_arm_1", 3, "ae_end"),
        ("T-SKIPPED", "1", "dose_arm_1", 2, "visit_status"),
        ("T-SKIPPED", "1", "m1_arm_1", None, "visit_status"),
    ]
    ae = next(f for f in found if f.instance == 3)
    assert ae.instrument == "event_log"
    assert ae.message == "The end is earlier than the start."
    assert ae.evidence == {
        "log_arm_1[3].ae_end": "2026-02-01",
        "log_arm_1[3].ae_start": "2026-02-10",
    }


def test_logic_rules_see_an_invalid_value_as_blank(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    # As text "2026-13-99" > "2026-02-10"; it is not a date, so the rule reads a blank.
    rec = record("1", *CLEAN, log(1, ae_start="2026-13-99", ae_end="2026-02-10"))
    assert check_all_records(rules, rec)[1] == []
    rec = record("1", *CLEAN, dose(2, visit_status="9"))  # not a code of visit_status
    assert check_all_records(rules, rec)[1] == []


def test_logic_rules_read_padded_values_trimmed_and_spaces_as_blank(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    rec = record(
        "1",
        *CLEAN,
        log(1, ae_start=" 2026-02-10", ae_end="2026-02-09 "),  # as text " 2" sorts first
        log(2, ae_start="   ", ae_end="2026-02-09"),  # blank start: no comparison
        dose(2, visit_status=" 2 "),
    )
    assert places(check_all_records(rules, rec)[1]) == [
        ("T-AE-ORDER", "1", "log_arm_1", 1, "ae_end"),
        ("T-SKIPPED", "1", "dose_arm_1", 2, "visit_status"),
    ]


def test_logic_rules_see_the_projects_missing_codes(tmp_path: Path) -> None:
    coded = SCHEMA.model_copy(update={"missing_codes": {"UNK": "Unknown", "NA": "N/A"}})
    logic = """
[[rule]]
id = "T-AE-END-UNKNOWN"
kind = "query"
severity = "minor"
title = "End date unknown"
field = "ae_end"
logic = "hasmissingcode([ae_end], 'UNK') and not isblanknotmissingcode([ae_end])"
message = "The end date is unknown."
"""
    rules = load_ruleset(rules_folder(tmp_path, logic=logic), schema=coded, mapping=MAPPING)
    # "UNK" is no date: a study check reads it as blank, but it is a code, not an error.
    rec = record("1", *CLEAN, log(1, ae_end="UNK"), log(2, ae_end="NA"), log(3, ae_end="x"))
    assert places(check_all_records(rules, rec)[1]) == [
        ("T-AE-END-UNKNOWN", "1", "log_arm_1", 1, "ae_end")
    ]


def test_a_logic_rule_failing_on_a_record_is_a_check_error(tmp_path: Path) -> None:
    class Unreadable:
        references: frozenset = frozenset()

        def is_true(self, context: object) -> bool:
            raise LookupError("no such row")

    rules = load(rules_folder(tmp_path))
    broken = dataclasses.replace(rules.logic_rules[0], expression=Unreadable())
    rules = dataclasses.replace(rules, logic_rules=(broken, *rules.logic_rules[1:]))
    rec = record("1", *CLEAN, log(1, ae_start="2026-02-10"))
    run, found = check_all_records(rules, rec)
    assert [(f.rule, f.check_error) for f in found] == [("T-AE-ORDER", True)]
    assert run.check_errors == 1


def test_a_logic_message_with_a_calendar_date_is_refused(tmp_path: Path) -> None:
    logic = LOGIC.replace("The end is earlier than the start.", "Ends before 2026-01-01.")
    with pytest.raises(MappingError, match="calendar date"):
        load(rules_folder(tmp_path, logic=logic))


def test_a_logic_rule_reads_other_events_on_valid_values(tmp_path: Path) -> None:
    logic = (
        '[[rule]]\nid = "T-X"\nkind = "query"\nseverity = "minor"\ntitle = "x"\n'
        'field = "visit_status"\nevents = ["m1_arm_1"]\nmessage = "Skipped after baseline."\n'
        "logic = \"[visit_status] = '2' and [baseline_arm_1][weight_kg] > 50\"\n"
    )
    rules = load(rules_folder(tmp_path, logic=logic, checks=None))
    heavy = record("1", baseline(weight_kg="80"), month(1, visit_status="2"))
    assert places(check_all_records(rules, heavy)[1]) == [
        ("T-X", "1", "m1_arm_1", None, "visit_status")
    ]
    invalid = record("1", baseline(weight_kg="80 kg"), month(1, visit_status="2"))
    assert check_all_records(rules, invalid)[1] == []


def test_the_rules_read_valid_values_only_of_the_fields_they_name(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    valid_only = ValidOnly.for_rules(SCHEMA, rules.logic_rules)
    rec = record(
        "1",
        month(1, visit_status="9", visit_date="someday"),  # a code no choice has; not a date
        log(1, ae_start="2026-02-10", ae_end="2026-02-09"),
    )
    m1 = RowKey("m1_arm_1", "", None)
    ae = RowKey("log_arm_1", "event_log", 1)
    clean = valid_only(rec)
    # visit_status is named by a rule: blank; visit_date is named by none: as stored.
    assert clean.rows[m1]["visit_status"] == ""
    assert clean.rows[m1]["visit_date"] == "someday"
    assert rec.rows[m1]["visit_status"] == "9"  # the record itself is left as it is
    # A row with nothing to blank is the record's own row, not a copy.
    assert clean.rows[ae] is rec.rows[ae]
