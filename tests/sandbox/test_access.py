"""The token user's export rights, locked records and a record deleted between requests."""

from __future__ import annotations

import pytest
import redcap

from worker.sandbox.access import LOCKED_RECORD, parse_delete_after, parse_export_right

QUERY_FORM = "data_query"
QUERY_ROW = {
    "record_id": "12",
    "redcap_event_name": "queries_arm_1",
    "redcap_repeat_instrument": QUERY_FORM,
    "redcap_repeat_instance": "1",
    "dq_id": "abc",
}


def columns(sandbox) -> set[str]:
    rows = redcap.Project(sandbox.url, sandbox.token).export_records(records=["12"])
    return set(rows[0])


def test_full_rights_export_every_query_column(demo_sandbox) -> None:
    assert {"dq_id", "dq_message", "dq_opened_at", "dq_status", "dq_verified"} <= columns(
        demo_sandbox
    )


def test_deidentified_rights_leave_out_free_text_notes_and_dates(demo_sandbox) -> None:
    demo_sandbox.access.set_export_right(QUERY_FORM, "deidentified")
    seen = columns(demo_sandbox)
    assert not {"dq_id", "dq_rule", "dq_message", "dq_opened_at", "dq_response"} & seen
    # Coded and validated non-date fields, the form status and the record ID stay.
    assert {"record_id", "dq_status", "dq_instance", "dq_verified", "data_query_complete"} <= seen


def test_no_access_leaves_out_the_form_and_its_status(demo_sandbox) -> None:
    demo_sandbox.access.set_export_right(QUERY_FORM, "none")
    seen = columns(demo_sandbox)
    assert not any(c.startswith("dq_") for c in seen)
    assert "data_query_complete" not in seen
    assert "record_id" in seen


def test_remove_identifiers_leaves_out_only_tagged_fields(demo_sandbox) -> None:
    full = columns(demo_sandbox)
    demo_sandbox.access.set_export_right(QUERY_FORM, "remove_identifiers")
    assert columns(demo_sandbox) == full  # the demo tags no field as an identifier


def test_an_import_touching_a_locked_record_is_refused_whole(demo_sandbox) -> None:
    demo_sandbox.access.lock_record("12")
    other = {**QUERY_ROW, "record_id": "13"}
    project = redcap.Project(demo_sandbox.url, demo_sandbox.token)
    with pytest.raises(Exception, match="locked"):
        project.import_records([other, QUERY_ROW])
    [entry] = list(demo_sandbox.request_log.imports())
    assert (entry.status, entry.error) == (400, LOCKED_RECORD)
    assert not [r for r in demo_sandbox.rows(records=["13"]) if r["dq_id"] == "abc"]
    assert project.import_records([other]) == {"count": 1}


def test_a_record_is_deleted_after_the_nth_request(demo_sandbox) -> None:
    project = redcap.Project(demo_sandbox.url, demo_sandbox.token)
    demo_sandbox.delete_record_after(2, "12")
    assert "12" in demo_sandbox.store
    project.export_version()
    assert "12" in demo_sandbox.store
    project.export_version()
    assert "12" not in demo_sandbox.store


def test_specs_of_the_command_line() -> None:
    assert parse_export_right("data_query=de-identified") == ("data_query", "deidentified")
    assert parse_delete_after("12:1003") == (12, "1003")
    for bad in ("data_query", "data_query=some", "=full"):
        with pytest.raises(ValueError, match="use FORM=RIGHT"):
            parse_export_right(bad)
    with pytest.raises(ValueError, match="N:RECORD"):
        parse_delete_after("x:1")
