"""Flat record export, driven through PyCap: REDCap's exact row layout and its filters."""

from __future__ import annotations

from datetime import datetime

import pytest
import redcap
import requests

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, post, pycap
from worker.sandbox import FakeClock, Sandbox

CLASSIC_COLUMNS = [
    "record_id",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "name",
    "dob",
    "age",
    "weight",
    "sex",
    "colors___1",
    "colors___2",
    "colors____1",
    "consent",
    "photo",
    "bmi",
    "demographics_complete",
    "visit_date",
    "visit_score",
    "visit_done",
    "visit_complete",
]


def _classic_rows() -> list[dict[str, str]]:
    return [
        {"record_id": "10", "name": "Zed", "demographics_complete": "2"},
        {"record_id": "1", "name": "Ann Lee", "age": "41", "colors___2": "1", "consent": "1"},
        {
            "record_id": "1",
            "redcap_repeat_instrument": "visit",
            "redcap_repeat_instance": "2",
            "visit_date": "2026-02-01",
        },
        {
            "record_id": "1",
            "redcap_repeat_instrument": "visit",
            "redcap_repeat_instance": "1",
            "visit_date": "2026-01-01",
            "visit_score": "7",
            "visit_complete": "2",
        },
        {
            "record_id": "2",
            "redcap_repeat_instrument": "visit",
            "redcap_repeat_instance": "1",
            "visit_done": "0",
        },
    ]


@pytest.fixture
def filled(make_sandbox: SandboxFactory, classic_dir) -> Sandbox:
    return make_sandbox(project_dir=classic_dir, data=_classic_rows())


def _blank_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(CLASSIC_COLUMNS, "")
    row.update(values)
    return row


def test_classic_rows_look_exactly_like_redcaps(filled: Sandbox) -> None:
    rows = pycap(filled).export_records()
    assert [list(r) for r in rows] == [CLASSIC_COLUMNS] * 5
    assert rows == [
        # Base row: unchecked boxes and the saved form's status "0"; the repeating form's
        # cells are blank, status included.
        _blank_row(
            record_id="1",
            name="Ann Lee",
            age="41",
            colors___1="0",
            colors___2="1",
            colors____1="0",
            consent="1",
            demographics_complete="0",
        ),
        # Repeating-instrument rows carry only their form; the instance is an integer.
        _blank_row(
            record_id="1",
            redcap_repeat_instrument="visit",
            redcap_repeat_instance=1,
            visit_date="2026-01-01",
            visit_score="7",
            visit_complete="2",
        ),
        _blank_row(
            record_id="1",
            redcap_repeat_instrument="visit",
            redcap_repeat_instance=2,
            visit_date="2026-02-01",
            visit_complete="0",
        ),
        # Record 2 has no base data, so no base row.
        _blank_row(
            record_id="2",
            redcap_repeat_instrument="visit",
            redcap_repeat_instance=1,
            visit_done="0",
            visit_complete="0",
        ),
        # Natural order: 2 before 10.
        _blank_row(
            record_id="10",
            name="Zed",
            colors___1="0",
            colors___2="0",
            colors____1="0",
            demographics_complete="2",
        ),
    ]


def test_rows_helper_matches_the_api(filled: Sandbox) -> None:
    assert filled.rows() == pycap(filled).export_records()
    assert [r["record_id"] for r in filled.rows(records=["10"])] == ["10"]


def test_longitudinal_layout(nk: Sandbox) -> None:
    rows = pycap(nk).export_records(records=["4"])
    assert rows == []
    rows = pycap(nk).export_records(records=["1"])
    columns = list(rows[0])
    assert columns[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    assert columns[4:9] == [
        "enr_screen_date",
        "enr_age",
        "enr_indication",
        "enr_fertility_need",
        "enrollment_complete",
    ]
    assert columns[-1] == "data_query_complete"
    assert all(list(r) == columns for r in rows)
    keys = [
        (r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"])
        for r in rows
    ]
    # Base rows in event order, then the repeating rows by event and instance.
    assert keys == [
        ("screening_arm_1", "", ""),
        *[(f"fu_m{k}_arm_1", "", "") for k in range(1, 7)],
        ("treatment_arm_1", "", 1),
    ]
    screening, fu1, treatment = rows[0], rows[1], rows[7]
    assert screening["enr_age"] == "26"
    assert screening["pb_date"] == ""
    assert screening["pb_collection_complete"] == ""
    assert fu1["enr_age"] == ""
    assert fu1["enrollment_complete"] == ""
    assert fu1["mba_unk_status"] == "1"
    # A repeating event's rows: blank instrument, integer instance, all its forms.
    assert treatment["redcap_repeat_instrument"] == ""
    assert treatment["pb_date"]
    assert treatment["inf_date"]
    assert treatment["cp_dnk_pct"] == "72.5"
    assert treatment["mba_date"] == ""


def test_designated_but_unsaved_forms_default_to_zero(nk: Sandbox) -> None:
    pycap(nk).import_records(
        [{"record_id": "9", "redcap_event_name": "screening_arm_1", "enr_age": "30"}]
    )
    (row,) = pycap(nk).export_records(records=["9"])
    assert row["enrollment_complete"] == "0"
    assert row["informed_consent_complete"] == "0"  # designated, never saved
    assert row["icf_signed"] == ""
    assert row["data_query_complete"] == ""  # not designated for screening
    gray = pycap(nk).export_records(records=["9"], export_blank_for_gray_form_status=True)
    assert gray[0]["informed_consent_complete"] == ""
    assert gray[0]["enrollment_complete"] == "0"  # saved, so not gray


def test_repeating_instrument_rows_in_a_longitudinal_project(nk: Sandbox) -> None:
    pycap(nk).import_records(
        [
            {
                "record_id": "2",
                "redcap_event_name": "queries_arm_1",
                "redcap_repeat_instrument": "data_query",
                "redcap_repeat_instance": "new",
                "dq_rule": "NK-TRT-04",
                "dq_status": "1",
            }
        ]
    )
    rows = pycap(nk).export_records(records=["2"], events=["queries_arm_1"])
    assert len(rows) == 1
    row = rows[0]
    assert (row["redcap_repeat_instrument"], row["redcap_repeat_instance"]) == ("data_query", 1)
    assert row["dq_rule"] == "NK-TRT-04"
    assert row["data_query_complete"] == "0"
    assert row["enrollment_complete"] == ""
    assert row["mba_date"] == ""


def test_csv_export(filled: Sandbox) -> None:
    text = pycap(filled).export_records(format_type="csv", records=["1", "2"])
    lines = text.splitlines()
    assert lines[0] == ",".join(CLASSIC_COLUMNS)
    assert lines[1].startswith('1,,,"Ann Lee",,41,,,0,1,0,1,,,0,,,,')
    assert lines[2] == "1,visit,1,,,,,,,,,,,,,2026-01-01,7,,2"
    assert text.endswith("\n")
    assert len(lines) == 5


def test_csv_with_label_headers_and_delimiter(filled: Sandbox) -> None:
    answer = post(
        filled,
        content="record",
        format="csv",
        rawOrLabelHeaders="label",
        csvDelimiter=";",
        records="10",
    )
    header = answer.text.splitlines()[0].split(";")
    assert header[:3] == ['"Record ID"', '"Repeat Instrument"', '"Repeat Instance"']
    assert '"Colors (choice=Red)"' in header
    assert "Complete?" in header


def test_records_fields_forms_events_filters(nk: Sandbox) -> None:
    project = pycap(nk)
    ids = project.export_records(fields=["record_id"])
    assert {r["record_id"] for r in ids} == {"1", "2", "3"}
    # The ID alone lists every row outside repeating instruments and events.
    every = project.export_records()
    assert len(ids) == sum(r["redcap_repeat_instance"] == "" for r in every)
    assert list(ids[0]) == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]

    enr = project.export_records(records=["2"], fields=["enr_age"])
    # PyCap adds the record ID; rows where enrollment cannot hold data are left out.
    assert [(r["redcap_event_name"], r["enr_age"]) for r in enr] == [("screening_arm_1", "27")]
    assert list(enr[0]) == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "enr_age",
    ]

    forms = project.export_records(records=["3"], forms=["infusion"])
    assert {r["redcap_event_name"] for r in forms} == {"treatment_arm_1"}
    assert "infusion_complete" in forms[0]
    assert "pb_date" not in forms[0]

    events = project.export_records(events=["fu_m2_arm_1", "fu_m3_arm_1"])
    assert {r["redcap_event_name"] for r in events} == {"fu_m2_arm_1", "fu_m3_arm_1"}
    assert len(events) == 6


@pytest.mark.parametrize(
    ("param", "value", "bad"),
    [
        ("fields", "record_id,nope", "'nope'"),
        ("forms", "nope,zilch", "'nope', 'zilch'"),
        ("events", "baseline_arm_1", "'baseline_arm_1'"),
    ],
)
def test_unknown_filter_names_are_400(nk: Sandbox, param: str, value: str, bad: str) -> None:
    answer = requests.post(
        nk.url,
        data={"token": nk.token, "content": "record", "format": "json", param: value},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": f'The following values in the parameter "{param}" are not valid: {bad}'
    }


def test_pycap_reports_unknown_names_as_redcap_errors(nk: Sandbox) -> None:
    project = pycap(nk)

    def error(**kwargs: list[str]) -> str:
        with pytest.raises(redcap.RedcapError) as caught:
            project.export_records(**kwargs)
        return caught.value.args[0]["error"]

    assert error(fields=["nope"]).endswith("\"fields\" are not valid: 'nope'")
    # PyCap backfills fields=["nope_complete", "record_id"] for a form, so fields fail first.
    assert error(forms=["nope"]).endswith("\"fields\" are not valid: 'nope_complete'")
    assert error(events=["baseline_arm_1"]).endswith("\"events\" are not valid: 'baseline_arm_1'")


def test_pseudo_fields_and_checkbox_columns_are_not_field_names(classic: Sandbox) -> None:
    for bad in ("redcap_repeat_instrument", "colors___1"):
        with pytest.raises(redcap.RedcapError):
            pycap(classic).export_records(fields=["record_id", bad])


def test_descriptive_and_status_names_are_accepted(filled: Sandbox) -> None:
    rows = pycap(filled).export_records(fields=["intro", "visit_complete", "colors"])
    assert list(rows[0]) == [
        "record_id",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "colors___1",
        "colors___2",
        "colors____1",
        "visit_complete",
    ]


def test_comma_strings_work_like_arrays(nk: Sandbox) -> None:
    """REDCapR sends records=1,2 and fields=a,b rather than PHP arrays."""
    answer = post(
        nk,
        content="record",
        format="json",
        records="1,3",
        fields="record_id,enr_age",
        events="screening_arm_1",
    )
    assert [(r["record_id"], r["enr_age"]) for r in answer.json()] == [("1", "26"), ("3", "28")]


def test_nonexistent_records_give_no_rows(nk: Sandbox) -> None:
    assert pycap(nk).export_records(records=["404"]) == []


def test_raw_or_label(filled: Sandbox) -> None:
    project = pycap(filled)
    rows = project.export_records(raw_or_label="label", records=["1"])
    assert rows[0]["colors___1"] == "Unchecked"
    assert rows[0]["colors___2"] == "Checked"
    assert rows[0]["consent"] == "Yes"
    assert rows[0]["demographics_complete"] == "Incomplete"
    assert rows[1]["redcap_repeat_instrument"] == "Visit"
    assert rows[1]["visit_complete"] == "Complete"
    labelled = project.export_records(
        raw_or_label="label", export_checkbox_labels=True, records=["1"]
    )
    assert (labelled[0]["colors___1"], labelled[0]["colors___2"]) == ("", "Green")


def test_event_labels(nk: Sandbox) -> None:
    rows = pycap(nk).export_records(raw_or_label="label", records=["1"], fields=["mba_date"])
    assert rows[0]["redcap_event_name"] == "Screening"


def test_export_data_access_groups(make_sandbox: SandboxFactory, classic_dir) -> None:
    rows = [{"record_id": "1", "name": "A", "redcap_data_access_group": "site_b"}]
    sb = make_sandbox(project_dir=classic_dir, data=rows)
    exported = pycap(sb).export_records(export_data_access_groups=True)
    assert list(exported[0])[:4] == [
        "record_id",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    assert exported[0]["redcap_data_access_group"] == "site_b"
    assert "redcap_data_access_group" not in pycap(sb).export_records()[0]


def test_no_dag_column_when_the_project_has_no_dags(nk: Sandbox) -> None:
    rows = pycap(nk).export_records(records=["1"], export_data_access_groups=True)
    assert "redcap_data_access_group" not in rows[0]


def test_date_range_filters_on_each_records_last_change(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    from tests.support.synthetic import nk_rows

    sb = make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(8))  # at 09:00:00
    project = pycap(sb)
    clock.set(datetime(2026, 11, 21, 14, 30, 15))
    project.import_records(
        [{"record_id": "7", "redcap_event_name": "fu_m1_arm_1", "mba_comment": "re-read"}]
    )
    clock.set(datetime(2026, 11, 22, 8, 0, 0))
    project.import_records(
        [{"record_id": "3", "redcap_event_name": "fu_m2_arm_1", "mba_comment": "late"}]
    )

    def ids(**kwargs: datetime) -> set[str]:
        return {r["record_id"] for r in project.export_records(fields=["record_id"], **kwargs)}

    assert ids(date_begin=datetime(2026, 11, 21)) == {"7", "3"}
    assert ids(date_begin=datetime(2026, 11, 21, 14, 30, 15)) == {"7", "3"}  # inclusive
    assert ids(date_begin=datetime(2026, 11, 21, 14, 30, 16)) == {"3"}
    assert ids(date_begin=datetime(2026, 11, 21), date_end=datetime(2026, 11, 21, 23, 59)) == {"7"}
    assert ids(date_end=datetime(2026, 11, 20, 9, 0, 0)) == {str(i) for i in range(1, 9)}
    # An import that changes nothing leaves the change time alone.
    clock.set(datetime(2026, 11, 23, 8, 0, 0))
    project.import_records(
        [{"record_id": "3", "redcap_event_name": "fu_m2_arm_1", "mba_comment": "late"}]
    )
    assert ids(date_begin=datetime(2026, 11, 23)) == set()
    assert sb.request_log.exports().where(rows_returned=0)


def test_date_range_accepts_redcaps_other_spellings(nk: Sandbox) -> None:
    for value in ("2026-11-20", "2026-11-20 09:00", "2026-11-20T09:00:00", "2026/11/20"):
        answer = post(nk, content="record", format="json", dateRangeBegin=value)
        assert answer.status_code == 200, value
        assert answer.json()
    bad = post(nk, content="record", format="json", dateRangeEnd="soon")
    assert bad.status_code == 400


def test_unemulated_options_are_refused_not_ignored(nk: Sandbox) -> None:
    with pytest.raises(redcap.RedcapError, match="filterLogic"):
        pycap(nk).export_records(filter_logic="[enr_age] > 30")
    with pytest.raises(redcap.RedcapError, match="flat"):
        pycap(nk).export_records(record_type="eav")


def test_xml_is_the_default_format(nk: Sandbox) -> None:
    answer = post(nk, content="record", records="1")
    assert answer.text.startswith('<?xml version="1.0" encoding="UTF-8" ?><records><item>')
    assert "<record_id><![CDATA[1]]></record_id>" in answer.text


def test_a_record_with_only_repeating_data_is_missing_from_an_id_only_export(nk: Sandbox) -> None:
    # REDCap may return no row for it; the sandbox takes that conservative answer.
    nk.import_rows(
        [
            {
                "record_id": "99",
                "redcap_event_name": "safety_arm_1",
                "redcap_repeat_instrument": "adverse_event",
                "redcap_repeat_instance": "1",
                "ae_onset": "2026-05-10",
            }
        ]
    )
    project = pycap(nk)
    assert "99" not in {r["record_id"] for r in project.export_records(fields=["record_id"])}
    with_status = project.export_records(fields=["record_id", "adverse_event_complete"])
    assert [(r["record_id"], r["redcap_repeat_instance"]) for r in with_status] == [("99", 1)]
