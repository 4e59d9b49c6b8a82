"""The BP-LOWER demo data (demo/bp_trial/demo_data.py) and its findings oracle, checked for
shape against the project's own exports. Nothing here runs the worker's checks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from tests.support.bp_trial import ORACLE, demo_data, export

AS_OF = dt.date(2026, 11, 26)
PSEUDO = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")


def designated() -> dict[str, set[str]]:
    forms: dict[str, set[str]] = defaultdict(set)
    for row in export("form_event_mapping"):
        forms[row["unique_event_name"]].add(row["form"])
    return forms


def test_the_demo_is_deterministic_and_has_16_records() -> None:
    rows = demo_data().generate(AS_OF)
    assert rows == demo_data().generate(AS_OF)
    assert list(dict.fromkeys(r["record_id"] for r in rows)) == [str(n) for n in range(1, 17)]


def test_rows_hold_only_fields_of_forms_designated_for_their_event() -> None:
    field_form = {f["field_name"]: f["form_name"] for f in export("metadata")}
    forms = designated()
    repeating = {(r["event_name"], r["form_name"]) for r in export("repeating_forms_events")}
    for row in demo_data().generate(AS_OF):
        event = row["redcap_event_name"]
        assert event in forms, event
        for name in set(row) - set(PSEUDO):
            form = (
                name.removesuffix("_complete") if name.endswith("_complete") else field_form[name]
            )
            assert form in forms[event], (event, name)
        instrument = row["redcap_repeat_instrument"]
        assert bool(instrument) == bool(row["redcap_repeat_instance"])
        if instrument:
            assert (event, instrument) in repeating


def test_each_record_lives_in_one_arm_and_half_are_in_each() -> None:
    arms: dict[str, set[str]] = defaultdict(set)
    for row in demo_data().generate(AS_OF):
        arms[row["record_id"]].add(row["redcap_event_name"].rsplit("_arm_", 1)[1])
    assert all(len(a) == 1 for a in arms.values())
    assert sorted(a.pop() for a in arms.values()).count("2") == 8


def test_every_oracle_finding_points_at_a_row_of_the_demo_or_a_visit_without_one() -> None:
    rows = {
        (r["record_id"], r["redcap_event_name"], int(r["redcap_repeat_instance"] or 0))
        for r in demo_data().generate(AS_OF)
    }
    events = {e["unique_event_name"] for e in export("events")}
    for f in ORACLE:
        assert f["event"] in events
        if f["rule"] != "BP-WIN-02":  # a missed visit has no row, by definition
            assert (f["record"], f["event"], f["instance"] or 0) in rows, f
