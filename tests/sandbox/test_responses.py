"""Answers turned into HTTP bodies the way REDCap does (worker/sandbox/responses.py): json,
csv with PHP's fputcsv quoting, xml, and error bodies in the request's return format."""

from __future__ import annotations

import json

import pytest

from worker.sandbox.responses import (
    CONTENT_TYPES,
    csv_text,
    error_response,
    json_response,
    object_response,
    table_response,
    text_response,
    xml_text,
)


def test_an_error_body_is_in_the_return_format_and_xml_otherwise() -> None:
    as_json = error_response(400, "bad <thing>", "json")
    assert (as_json.status, json.loads(as_json.text)) == (400, {"error": "bad <thing>"})
    assert error_response(400, "bad", "csv").text == "ERROR: bad"
    as_xml = error_response(403, "bad <thing>", "odm")
    assert as_xml.text.endswith("<hash><error>bad &lt;thing&gt;</error></hash>")
    assert as_xml.content_type == CONTENT_TYPES["xml"]


def test_csv_quotes_cells_as_phps_fputcsv_does() -> None:
    text = csv_text(["a", "b c"], [["Event_1", 'say "hi"'], ["x,y", None]])
    assert text == 'a,"b c"\nEvent_1,"say ""hi"""\n"x,y",\n'
    assert csv_text(["a"], [["x|y"]], delimiter="|") == 'a\n"x|y"\n'


@pytest.mark.parametrize("delimiter", ["\t", "^", ";", "|"])
def test_csv_encloses_a_cell_holding_its_own_delimiter_only(delimiter: str) -> None:
    cells = [f"a{delimiter}b", "a,b", "plain", "line\nbreak"]
    text = csv_text(["h"], [cells], delimiter=delimiter)
    assert text.splitlines()[1] == delimiter.join([f'"a{delimiter}b"', "a,b", "plain", '"line'])


def test_xml_values_are_cdata_even_when_they_hold_its_end() -> None:
    text = xml_text([{"note": "a]]>b"}])
    assert "<note><![CDATA[a]]]]><![CDATA[>b]]></note>" in text


def test_json_is_compact_utf8_and_escapes_what_utf8_cannot_carry() -> None:
    assert json_response([{"name": "Ünï"}]).body == '[{"name":"Ünï"}]'.encode()
    lone = json_response(["\ud800"])
    assert lone.body == b'["\\ud800"]'


def test_a_table_without_rows_still_has_its_csv_header() -> None:
    empty = table_response([], "csv", columns=["record", "field"])
    assert empty.text == "record,field\n"
    assert table_response([], "json").text == "[]"


def test_an_object_is_a_json_object_or_a_one_row_csv() -> None:
    info = {"project_id": 7, "project_title": "Toy trial"}
    assert json.loads(object_response(info, "json").text) == info
    assert object_response(info, "csv").text == 'project_id,project_title\n7,"Toy trial"\n'
    assert "<items><project_id><![CDATA[7]]></project_id>" in object_response(info, "xml").text


def test_plain_text_answers() -> None:
    response = text_response("15.7.6")
    assert (response.status, response.text, response.content_type) == (
        200,
        "15.7.6",
        CONTENT_TYPES["text"],
    )
