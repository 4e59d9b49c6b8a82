"""HTTP transport: where the sandbox listens, and REDCap's answers before any method runs."""

from __future__ import annotations

import json

import pytest
import redcap
import requests

from tests.support.sandbox import SandboxFactory, post
from worker.errors import ConfigError
from worker.sandbox import DEMO_TOKEN, Sandbox

WRONG_TOKEN = "0123456789ABCDEF0123456789ABCDEF"


def test_serves_on_loopback_with_a_free_port_and_the_api_path(nk: Sandbox) -> None:
    assert nk.url.startswith("http://127.0.0.1:")
    assert nk.url.endswith("/api/")
    assert nk.port > 0
    assert nk.token == DEMO_TOKEN
    assert len(DEMO_TOKEN) == 32
    assert DEMO_TOKEN.isalnum()


def test_non_post_methods_get_501(nk: Sandbox) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = requests.request(method, nk.url, timeout=10)
        assert response.status_code == 501
        assert response.text == "The requested method is not implemented."
    assert requests.head(nk.url, timeout=10).status_code == 501
    assert [e.status for e in nk.request_log] == [501] * 5


def test_other_paths_are_404_html_like_the_web_server(nk: Sandbox) -> None:
    response = requests.post(nk.url.replace("/api/", "/redcap/"), data={}, timeout=10)
    assert response.status_code == 404
    assert "<title>404 Not Found</title>" in response.text


def test_wrong_token_is_403_in_the_requested_format(nk: Sandbox) -> None:
    json_answer = post(nk, token=WRONG_TOKEN, content="record", format="json")
    assert json_answer.status_code == 403
    assert json_answer.json() == {"error": "You do not have permissions to use the API"}
    assert json_answer.headers["Content-Type"].startswith("application/json")

    csv_answer = post(nk, token=WRONG_TOKEN, content="record", format="csv")
    assert (csv_answer.status_code, csv_answer.text) == (
        403,
        "ERROR: You do not have permissions to use the API",
    )

    # returnFormat wins over format; neither means xml.
    assert post(nk, token=WRONG_TOKEN, content="record", format="csv", returnFormat="json").json()
    xml_answer = post(nk, token=WRONG_TOKEN, content="record")
    assert xml_answer.status_code == 403
    assert "<hash><error>You do not have permissions to use the API</error></hash>" in (
        xml_answer.text
    )


def test_missing_or_malformed_token_is_403(nk: Sandbox) -> None:
    missing = requests.post(nk.url, data={"content": "version"}, timeout=10)  # no token
    assert missing.status_code == 403
    assert post(nk, token=DEMO_TOKEN.lower(), content="version").status_code == 403
    assert post(nk, token=DEMO_TOKEN[:-1] + "!", content="version").status_code == 403


def test_pycap_sees_a_bad_token_as_redcap_error(nk: Sandbox) -> None:
    project = redcap.Project(nk.url, WRONG_TOKEN)
    with pytest.raises(redcap.RedcapError) as caught:
        project.export_project_info()
    assert caught.value.args[0] == {"error": "You do not have permissions to use the API"}


def test_unknown_content_is_400(nk: Sandbox) -> None:
    answer = post(nk, content="records", format="json")
    assert answer.status_code == 400
    assert answer.json() == {"error": 'The value of the parameter "content" is not valid'}


def test_valid_but_unemulated_content_says_so(nk: Sandbox) -> None:
    answer = post(nk, content="user", format="json")
    assert answer.status_code == 400
    assert "sandbox does not implement content=user" in answer.json()["error"]


def test_undecodable_json_data_is_400_before_anything_else(nk: Sandbox) -> None:
    answer = post(nk, content="record", format="json", data="[{not json")
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert message.startswith("The data being imported is not formatted correctly.")
    assert "The JSON must be in an array" in message


def test_answers_are_json_with_the_right_content_type(nk: Sandbox) -> None:
    answer = post(nk, content="instrument", format="json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(answer.text)[0]["instrument_name"] == "enrollment"


def test_keep_alive_connections_do_not_outlive_stop(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    url = sb.url
    session = requests.Session()
    assert session.post(url, data={"token": sb.token, "content": "version"}).ok
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        session.post(url, data={"token": sb.token, "content": "version"}, timeout=5)


def test_a_busy_port_is_a_config_error(make_sandbox: SandboxFactory, classic_dir) -> None:
    first = make_sandbox(project_dir=classic_dir)
    second = Sandbox.from_folder(project_dir=classic_dir, data="empty", port=first.port)
    with pytest.raises(ConfigError, match="cannot listen"):
        second.start()
