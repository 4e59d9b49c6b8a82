"""Record import through PyCap: return contents, overwrite behaviour, repeat instances, and
REDCap's validation (all-or-nothing, one error line per bad value)."""

from __future__ import annotations

from typing import Any

import pytest
import redcap

from tests.support.sandbox import post, pycap
from worker.sandbox import Sandbox


def import_error(sb: Sandbox, rows: list[dict[str, Any]], **kwargs: Any) -> str:
    with pytest.raises(redcap.RedcapError) as caught:
        pycap(sb).import_records(rows, **kwargs)
    return caught.value.args[0]["error"]


def test_return_content_count_ids_and_nothing(classic: Sandbox) -> None:
    project = pycap(classic)
    rows = [
        {"record_id": "1", "name": "A"},
        {"record_id": "1", "redcap_repeat_instrument": "visit", "redcap_repeat_instance": 1},
        {"record_id": "2", "name": "B"},
    ]
    assert project.import_records(rows) == {"count": 2}  # distinct records, not rows
    assert project.import_records(rows, return_content="ids") == ["1", "2"]
    assert project.import_records([{"record_id": "3"}], return_content="nothing") == [{}]
    raw = post(
        classic,
        content="record",
        format="json",
        returnContent="nothing",
        data='[{"record_id": "4"}]',
    )
    assert (raw.status_code, raw.text) == (200, "")
    # Record 1's repeating row is not in an ID-only export (see the export's tests).
    assert [r["record_id"] for r in project.export_records(fields=["record_id"])] == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_csv_return_format(classic: Sandbox) -> None:
    project = pycap(classic)
    assert project.import_records([{"record_id": "5"}], return_format_type="csv") == "1"
    ids = project.import_records(
        [{"record_id": "5"}, {"record_id": "6"}], return_format_type="csv", return_content="ids"
    )
    assert ids == "id\n5\n6\n"


def test_force_auto_number(classic: Sandbox) -> None:
    project = pycap(classic)
    project.import_records([{"record_id": "7", "name": "seven"}])
    result = project.import_records(
        [{"record_id": "x", "name": "new one"}, {"record_id": "y", "name": "new two"}],
        return_content="auto_ids",
        force_auto_number=True,
    )
    assert result == ["8,x", "9,y"]
    assert {r["record_id"]: r["name"] for r in classic.rows()} == {
        "7": "seven",
        "8": "new one",
        "9": "new two",
    }


def test_normal_keeps_and_overwrite_erases_on_blank(classic: Sandbox) -> None:
    project = pycap(classic)
    project.import_records([{"record_id": "1", "name": "Ann", "age": "40", "colors___1": "1"}])
    project.import_records([{"record_id": "1", "name": "", "age": "41"}])
    (row,) = classic.rows()
    assert (row["name"], row["age"], row["colors___1"]) == ("Ann", "41", "1")
    project.import_records(
        [{"record_id": "1", "name": "", "colors___1": "0"}], overwrite="overwrite"
    )
    (row,) = classic.rows()
    assert (row["name"], row["age"], row["colors___1"]) == ("", "41", "0")


def test_round_trip_of_exported_rows_is_accepted_and_changes_nothing(nk: Sandbox) -> None:
    project = pycap(nk)
    exported = project.export_records()
    before = nk.rows()
    mark = nk.request_log.mark()
    assert project.import_records(exported, overwrite="overwrite") == {"count": 3}
    assert nk.rows() == before
    (entry,) = nk.request_log.since(mark).imports()
    assert entry.records_written == ("1", "2", "3")
    assert entry.records_changed == ()


def test_explicit_and_new_repeat_instances(nk: Sandbox) -> None:
    project = pycap(nk)

    def query(instance: object, text: str) -> dict[str, Any]:
        return {
            "record_id": "1",
            "redcap_event_name": "queries_arm_1",
            "redcap_repeat_instrument": "data_query",
            "redcap_repeat_instance": instance,
            "dq_message": text,
        }

    project.import_records([query(1, "first"), query("new", "second"), query("new", "third")])
    project.import_records([query("new", "fourth"), query(2, "second, edited")])
    rows = project.export_records(records=["1"], events=["queries_arm_1"])
    assert [(r["redcap_repeat_instance"], r["dq_message"]) for r in rows] == [
        (1, "first"),
        (2, "second, edited"),
        (3, "third"),
        (4, "fourth"),
    ]
    # A repeating event takes instances too.
    project.import_records(
        [
            {
                "record_id": "1",
                "redcap_event_name": "treatment_arm_1",
                "redcap_repeat_instance": "new",
                "pb_date": "2026-09-01",
            }
        ]
    )
    treatments = project.export_records(records=["1"], events=["treatment_arm_1"])
    assert [r["redcap_repeat_instance"] for r in treatments] == [1, 2]


def test_value_validation_reports_every_bad_value_and_writes_nothing(nk: Sandbox) -> None:
    before = nk.rows()
    mark = nk.request_log.mark()
    rows = [
        {"record_id": "1", "redcap_event_name": "screening_arm_1", "enr_age": "abc"},
        {
            "record_id": "2",
            "redcap_event_name": "screening_arm_1",
            "enr_screen_date": "2026-02-30",
            "enr_indication": "9",
            "enr_fertility_need": "yes",
        },
        {"record_id": "3", "redcap_event_name": "fu_m1_arm_1", "mba_cd56bright_pct": "12,5"},
        {"record_id": "4", "redcap_event_name": "screening_arm_1", "enr_age": "33"},
        {
            "record_id": "5",
            "redcap_event_name": "queries_arm_1",
            "redcap_repeat_instrument": "data_query",
            "redcap_repeat_instance": "1",
            "dq_opened_at": "2026-11-20 09:00",
            "data_query_complete": "3",
        },
    ]
    message = import_error(nk, rows)
    assert message.split("\n") == [
        '"1","enr_age","abc","The value of enr_age must be an integer."',
        '"2","enr_screen_date","2026-02-30","Invalid date format. (NOTE: Dates must be imported '
        "here only in Y-M-D format, regardless of the specific date format designated for this "
        'field.)"',
        '"2","enr_indication","9","The value is not a valid category for enr_indication"',
        '"2","enr_fertility_need","yes","The value is not a valid category for enr_fertility_need"',
        '"3","mba_cd56bright_pct","12,5","The value of mba_cd56bright_pct must be numeric."',
        '"5","dq_opened_at","2026-11-20 09:00","Invalid datetime format. (NOTE: Datetimes must be '
        "imported here only in Y-M-D H:M:S format, regardless of the specific date format "
        'designated for this field.)"',
        '"5","data_query_complete","3","The value is not a valid category for data_query_complete"',
    ]
    assert nk.rows() == before  # record 4 was fine, but nothing from the request is saved
    (entry,) = nk.request_log.since(mark)
    assert entry.status == 400
    assert entry.is_import
    assert entry.records_written == ()


def test_the_http_status_of_an_invalid_import_is_400(nk: Sandbox) -> None:
    answer = post(
        nk,
        content="record",
        format="json",
        returnFormat="json",
        data='[{"record_id":"1","redcap_event_name":"screening_arm_1","enr_age":"x"}]',
    )
    assert answer.status_code == 400


def test_checkbox_and_number_values(classic: Sandbox) -> None:
    message = import_error(
        classic,
        [{"record_id": "1", "colors___2": "yes", "weight": "1.", "sex": "3", "visit_done": ""}],
    )
    assert sorted(message.split("\n")) == [
        '"1","colors___2","yes","The value is not a valid category for colors___2"',
        '"1","sex","3","The value is not a valid category for sex"',
        '"1","weight","1.","The value of weight must be numeric."',
    ]
    pycap(classic).import_records(
        [{"record_id": "1", "weight": "-1.5e3", "colors____1": "1", "bmi": "99", "photo": "x"}]
    )
    (row,) = classic.rows()
    assert (row["weight"], row["colors____1"]) == ("-1.5e3", "1")
    assert (row["bmi"], row["photo"]) == ("", "")  # calc and file fields are not imported


def test_unknown_columns_fail_the_whole_request(classic: Sandbox) -> None:
    message = import_error(classic, [{"record_id": "1", "colors": "1", "intro": "", "foo": "x"}])
    assert message == (
        "The following fields were not found in the project as real data fields: colors, intro, foo"
    )
    assert classic.rows() == []


def test_a_classic_project_has_no_event_column(classic: Sandbox) -> None:
    message = import_error(classic, [{"record_id": "1", "redcap_event_name": "x"}])
    assert message.endswith("real data fields: redcap_event_name")


def test_dates_in_mdy_and_dmy(classic: Sandbox) -> None:
    project = pycap(classic)
    project.import_records([{"record_id": "1", "dob": "02/29/2000"}], date_format="MDY")
    project.import_records([{"record_id": "2", "dob": "31/12/1999"}], date_format="DMY")
    assert [r["dob"] for r in classic.rows()] == ["2000-02-29", "1999-12-31"]
    assert "Invalid date format" in import_error(
        classic, [{"record_id": "3", "dob": "02/29/2001"}], date_format="MDY"
    )


def test_repeating_instrument_rules(nk: Sandbox) -> None:
    dq = {"record_id": "1", "redcap_event_name": "queries_arm_1", "dq_rule": "X"}
    assert import_error(nk, [dq]) == (
        '"1","dq_rule","X","This field is located on a repeating instrument; however, no value '
        "has been provided for the field 'redcap_repeat_instrument'. Please provide the name of "
        "the repeating instrument in 'redcap_repeat_instrument'.\""
    )
    message = import_error(nk, [{**dq, "redcap_repeat_instrument": "data_query"}])
    assert "A value for redcap_repeat_instance is required" in message
    message = import_error(
        nk, [{**dq, "redcap_repeat_instrument": "enrollment", "redcap_repeat_instance": "1"}]
    )
    assert "enrollment is not a repeating instrument in the event queries_arm_1" in message
    message = import_error(
        nk,
        [{"record_id": "1", "redcap_event_name": "screening_arm_1", "redcap_repeat_instance": 2}],
    )
    assert "cannot have a value since this instrument or event is not a repeating" in message
    message = import_error(
        nk,
        [
            {
                **dq,
                "redcap_repeat_instrument": "data_query",
                "redcap_repeat_instance": "1",
                "dq_field": "enr_age",
                "enr_age": "30",
            }
        ],
    )
    assert '"1","enr_age","30","This field is located on the instrument \'enrollment\'' in message


def test_whole_request_instance_errors(nk: Sandbox) -> None:
    zero = import_error(
        nk,
        [
            {
                "record_id": "1",
                "redcap_event_name": "treatment_arm_1",
                "redcap_repeat_instance": "0",
                "pb_date": "2026-01-01",
            }
        ],
    )
    assert "cannot be 0" in zero
    missing = import_error(
        nk, [{"record_id": "1", "redcap_event_name": "treatment_arm_1", "pb_date": "2026-01-01"}]
    )
    assert "is a repeating event, but no value was provided for redcap_repeat_instance" in missing
    bad = import_error(
        nk,
        [
            {
                "record_id": "1",
                "redcap_event_name": "treatment_arm_1",
                "redcap_repeat_instance": "40000",
            }
        ],
    )
    assert "must be an integer from 1 to 32767" in bad


def test_event_names_are_required_and_checked(nk: Sandbox) -> None:
    assert "redcap_event_name is required" in import_error(nk, [{"record_id": "1"}])
    message = import_error(nk, [{"record_id": "1", "redcap_event_name": "baseline_arm_1"}])
    assert message == (
        '"1","redcap_event_name","baseline_arm_1",'
        '"The value of redcap_event_name is not a valid unique event name."'
    )


def test_forms_not_designated_for_the_event(nk: Sandbox) -> None:
    message = import_error(
        nk, [{"record_id": "1", "redcap_event_name": "fu_m1_arm_1", "enr_age": "30"}]
    )
    assert message == (
        '"1","enr_age","30","This field is located on the instrument \'enrollment\', which is '
        "not designated for the event 'fu_m1_arm_1'.\""
    )


def test_duplicate_rows_in_one_request(classic: Sandbox) -> None:
    message = import_error(classic, [{"record_id": "1"}, {"record_id": "1", "name": "again"}])
    assert "appears more than once" in message


def test_missing_record_id_column(classic: Sandbox) -> None:
    assert "record ID field (record_id) is missing" in import_error(classic, [{"name": "x"}])


def test_csv_import(classic: Sandbox) -> None:
    data = 'record_id,name,colors___1\n1,"Lee, Ann",1\n2,Bo,0\n'
    assert pycap(classic).import_records(data, import_format="csv") == {"count": 2}
    assert [(r["name"], r["colors___1"]) for r in classic.rows()] == [
        ("Lee, Ann", "1"),
        ("Bo", "0"),
    ]


def test_json_values_are_cast_like_php(classic: Sandbox) -> None:
    pycap(classic).import_records(
        [
            {"record_id": 5, "age": 40, "weight": 61.5, "consent": True},
            {"record_id": 5, "redcap_repeat_instrument": "visit", "redcap_repeat_instance": 1},
        ]
    )
    row = classic.rows()[0]
    assert (row["record_id"], row["age"], row["weight"], row["consent"]) == ("5", "40", "61.5", "1")


def test_dag_assignment_on_import(classic: Sandbox) -> None:
    pycap(classic).import_records([{"record_id": "1", "redcap_data_access_group": "site_a"}])
    assert classic.store.records["1"].dag == "site_a"
    message = import_error(classic, [{"record_id": "2", "redcap_data_access_group": "site_z"}])
    assert "not a valid unique data access group name" in message


def test_in_process_import_validates_like_the_api(classic: Sandbox) -> None:
    from worker.sandbox import ApiError

    assert classic.import_rows([{"record_id": "1", "age": "40"}]) == ["1"]
    with pytest.raises(ApiError) as caught:
        classic.import_rows([{"record_id": "1", "age": "forty"}])
    assert caught.value.status == 400
    assert not classic.request_log  # in-process changes are not API requests
