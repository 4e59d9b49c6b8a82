"""Can the worker read back what it writes (worker/core/export_rights.py)? Fields an export
left out under the user's data export rights are named, with what to ask for."""

from __future__ import annotations

from worker.core.export_rights import export_rights_error, hidden_fields
from worker.errors import ExportRightsMissing, RedcapError


def test_fields_the_export_returned_are_not_hidden() -> None:
    assert hidden_fields(["q_rule", "q_status"], ["study_id", "q_rule", "q_status"]) == []


def test_fields_left_out_are_named_once_in_the_order_asked() -> None:
    columns = ["study_id", "q_rule"]
    assert hidden_fields(["q_text", "q_rule", "q_status", "q_text"], columns) == [
        "q_text",
        "q_status",
    ]


def test_a_checkbox_is_present_when_any_of_its_option_columns_is() -> None:
    assert hidden_fields(["q_flags"], ["study_id", "q_flags___1", "q_flags___2"]) == []
    assert hidden_fields(["q_flags"], ["study_id", "q_flagsx___1"]) == ["q_flags"]


def test_the_error_names_the_fields_and_the_form_and_says_nothing_was_written() -> None:
    error = export_rights_error("data_queries", ["q_text", "q_status"])
    assert isinstance(error, ExportRightsMissing)
    assert isinstance(error, RedcapError)
    assert error.exit_code == 3
    message = str(error)
    assert "q_text, q_status" in message
    assert "'Full Data Set' export rights on the form 'data_queries'" in message
    assert message.endswith("nothing was written")
