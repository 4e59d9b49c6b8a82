"""The sandbox's API without HTTP (worker/sandbox/api.py): one POST body in, one REDCap answer
out, the token checked first, errors in the request's return format, and the facts the
request log keeps, never the token."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.support.projects import DEMO_PROJECT
from worker.sandbox import handlers
from worker.sandbox.api import Api, describe
from worker.sandbox.clock import FakeClock
from worker.sandbox.drw import PREFIX
from worker.sandbox.errors import NO_PERMISSION
from worker.sandbox.params import RequestParams
from worker.sandbox.project import load_project
from worker.sandbox.store import Store

TOKEN = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def api() -> Api:
    project = load_project(DEMO_PROJECT)
    return Api(project, Store(project, FakeClock()), TOKEN)


def body(**params: str) -> bytes:
    return urlencode(params).encode()


def test_a_request_with_the_token_is_answered(api: Api) -> None:
    response, facts = api.handle(body(token=TOKEN, content="version"))
    assert response.status == 200
    assert response.text == handlers.REDCAP_VERSION
    assert facts["content"] == "version"
    assert "error" not in facts


@pytest.mark.parametrize("token", ["", "wrong", TOKEN.lower(), TOKEN + "' OR 1=1"])
def test_any_other_token_is_refused_as_redcap_refuses_it(api: Api, token: str) -> None:
    response, facts = api.handle(body(token=token, content="version", returnFormat="json"))
    assert response.status == 403
    assert json.loads(response.text) == {"error": NO_PERMISSION}
    assert facts["error"] == NO_PERMISSION


def test_errors_come_in_the_return_format_else_xml(api: Api) -> None:
    response, _ = api.handle(body(token=TOKEN, content="nonsense", format="csv"))
    assert (response.status, response.text) == (
        400,
        'ERROR: The value of the parameter "content" is not valid',
    )
    response, _ = api.handle(body(token=TOKEN, content="nonsense"))
    assert response.text.endswith(
        '<error>The value of the parameter "content" is not valid</error></hash>'
    )


def test_a_body_the_server_has_parsed_is_answered_as_the_body_itself(api: Api) -> None:
    rows = json.dumps([{"record_id": "1", "age": "41"}, {"record_id": "2", "age": "x"}])
    request = body(token=TOKEN, content="record", format="json", data=rows, returnFormat="json")
    parsed = RequestParams.parse(request)
    assert api.handle(request, parsed)[0] == api.handle(request)[0]
    assert api.handle(request, parsed)[0].status == 400


def test_the_logged_facts_never_hold_the_token(api: Api) -> None:
    _, facts = api.handle(body(token=TOKEN, content="record", format="json", data="[]"))
    assert TOKEN not in json.dumps(facts)
    assert facts["is_import"] is True
    assert facts["params"]["data"] == "<2 characters>"


def test_describe_names_the_action_a_request_means() -> None:
    assert describe(RequestParams.parse(body(content="record")))["action"] == "export"
    assert describe(RequestParams.parse(body(content="record", data="[]")))["action"] == "import"
    assert (
        describe(RequestParams.parse(body(content="record", action="delete")))["action"] == "delete"
    )
    assert describe(RequestParams.parse(body(content="arm", data="[]")))["action"] == "export"


def test_a_module_page_needs_the_module_enabled(api: Api) -> None:
    query = urlencode({"prefix": PREFIX, "page": "export", "type": "module", "pid": "1"})
    response, facts = api.handle_module(query, body(token=TOKEN))
    assert response.status == 403
    assert "is not enabled on project" in facts["error"]
