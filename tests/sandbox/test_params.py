"""Parsing POST bodies as REDCap's PHP does."""

from __future__ import annotations

from urllib.parse import urlencode

from worker.sandbox.params import RequestParams, coerce_format, is_true


def parse(pairs: list[tuple[str, str]]) -> RequestParams:
    return RequestParams.parse(urlencode(pairs).encode())


def test_php_arrays_and_comma_strings() -> None:
    params = parse(
        [
            ("records[0]", "10"),
            ("records[1]", "2"),
            ("fields[]", "a"),
            ("fields[]", "b"),
            ("forms", "x, y,,"),
            ("events", ""),
        ]
    )
    assert params.list("records") == ["10", "2"]
    assert params.list("fields") == ["a", "b"]
    assert params.list("forms") == ["x", "y"]
    assert params.list("events") is None
    assert params.list("arms") is None
    assert params.is_array("records")
    assert not params.is_array("forms")


def test_flags_are_true_only_for_1_and_true() -> None:
    assert [is_true(v) for v in ("1", "true", "TRUE", "True")] == [True] * 4
    assert [is_true(v) for v in ("False", "0", "", "yes", None)] == [False] * 5


def test_formats_fall_back_to_xml() -> None:
    assert coerce_format("json") == "json"
    assert coerce_format("odm") == "xml"
    assert coerce_format("odm", allow_odm=True) == "odm"
    assert coerce_format("yaml") == "xml"
    assert parse([("format", "csv")]).return_format == "csv"
    assert parse([("format", "csv"), ("returnFormat", "json")]).return_format == "json"
    assert parse([]).return_format == "xml"


def test_redacted_drops_the_token_and_the_payload() -> None:
    params = parse([("token", "SECRET" * 5 + "AB"), ("data", "[1,2,3]"), ("records[0]", "1")])
    assert params.redacted() == {"data": "<7 characters>", "records": ["1"]}
