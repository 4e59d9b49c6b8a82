"""A parsed REDCap answer has the shape its request returns (worker/redcap_client/shapes.py),
or it is an unexpected response (retried); messages name the shape, never the content."""

from __future__ import annotations

import pytest

from worker.redcap_client.failures import UnexpectedResponse
from worker.redcap_client.shapes import check_shape

METADATA_ROW = {"field_name": "study_id", "form_name": "enrolment"}


@pytest.mark.parametrize(
    ("payload", "return_type", "result"),
    [
        ({"content": "version"}, "str", "15.7.6"),
        ({"content": "version"}, "str", "14.0.2\n"),
        ({"content": "project", "format": "json"}, "json", {"project_id": 7}),
        ({"content": "metadata", "format": "json"}, "json", [METADATA_ROW]),
        ({"content": "record", "format": "json"}, "json", []),
        ({"content": "record", "format": "csv"}, "str", "study_id\n1\n"),
        ({"content": "record", "data": "[]"}, "count_dict", {"count": 3}),
        ({"content": "record", "data": "[]"}, "ids_list", ["1", 2]),
        ({"content": "file"}, "file_map", b"anything"),
    ],
)
def test_answers_of_the_expected_shape_pass(payload, return_type, result) -> None:
    assert check_shape(payload, return_type, result) is None  # no UnexpectedResponse


@pytest.mark.parametrize(
    ("payload", "return_type", "result", "message"),
    [
        ({"content": "version"}, "str", "<html>", "version: expected a version number"),
        ({"content": "project"}, "json", {}, "project: expected a JSON object with project_id"),
        ({"content": "metadata"}, "json", [], "metadata: expected at least one row"),
        ({"content": "metadata"}, "json", [{"field_name": "a"}], "rows lack field_name"),
        ({"content": "record"}, "json", {"error": "x"}, "record: expected a JSON array"),
        ({"content": "record"}, "json", ["secret"], "record: expected a JSON array"),
        ({"content": "record", "data": "[]"}, "count_dict", [], "expected {'count': N}"),
        ({"content": "record", "data": "[]"}, "ids_list", {}, "expected a JSON array of ids"),
    ],
)
def test_answers_of_another_shape_are_unexpected(payload, return_type, result, message) -> None:
    with pytest.raises(UnexpectedResponse, match=message) as caught:
        check_shape(payload, return_type, result)
    assert "secret" not in str(caught.value)
