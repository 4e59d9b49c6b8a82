"""The PyCap 2.7.0 internals the client relies on. If a PyCap upgrade changes them, these
fail first, with a clear name, instead of the client misbehaving quietly."""

from __future__ import annotations

import inspect

import redcap
import redcap.request
from redcap.methods.base import Base

from tests.support.redcap_client import TOKEN, URL


def params(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_call_api_is_the_single_funnel_we_override() -> None:
    assert params(Base._call_api) == ["self", "payload", "return_type", "file"]


def test_rcrequest_takes_a_session_and_posts_through_it() -> None:
    assert params(redcap.request._RCRequest.__init__) == [
        "self",
        "url",
        "payload",
        "config",
        "session",
    ]
    assert params(redcap.request._RCRequest.execute)[:4] == [
        "self",
        "verify_ssl",
        "return_headers",
        "file",
    ]
    assert "session.post(" in inspect.getsource(redcap.request._RCRequest.execute)
    assert redcap.request._ContentConfig._fields == ("return_empty_json", "return_bytes")


def test_redcap_error_is_requests_request_exception() -> None:
    import requests

    assert redcap.request.RedcapError is requests.RequestException


def test_payload_helpers_we_call() -> None:
    project = redcap.Project(URL, TOKEN)
    assert project._initialize_payload("version") == {"token": TOKEN, "content": "version"}
    payload = project._initialize_import_payload(
        to_import=[{"a": "1"}], import_format="json", return_format_type="json", content="record"
    )
    assert payload == {
        "token": TOKEN,
        "content": "record",
        "returnFormat": "json",
        "type": "flat",
        "data": '[{"a":"1"}]',
        "format": "json",
    }


def test_metadata_is_cached_on_the_project() -> None:
    """Schema and record exports share one metadata download through this cache."""
    project = redcap.Project(URL, TOKEN)
    assert project._metadata is None
    project._metadata = [{"field_name": "rid", "form_name": "f"}]
    assert project.metadata is project._metadata
    assert project.def_field == "rid"


def test_export_records_keyword_arguments_we_pass() -> None:
    assert {"records", "fields", "forms", "date_begin"} <= set(
        params(redcap.Project.export_records)
    )
