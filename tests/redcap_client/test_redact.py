"""The token appears in no log line, no exception and no output, even when things fail."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
import responses
from structlog.testing import capture_logs

from tests.support.redcap_client import TOKEN, connection_dropped, reply
from worker.errors import RedcapRefused, RedcapUnreachable
from worker.redcap_client import RedcapClient, RetryPolicy
from worker.redcap_client.redact import REDACTED, Redactor, display_url


def everything_about(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), *map(repr, exc.args), *traceback.format_exception(exc)]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(everything_about(linked))
    return "\n".join(parts)


def test_redactor_replaces_every_occurrence() -> None:
    redactor = Redactor(TOKEN)
    assert redactor.redact(f"a {TOKEN} b {TOKEN}") == f"a {REDACTED} b {REDACTED}"
    assert TOKEN not in repr(redactor)


def test_display_url_drops_credentials_query_and_fragment() -> None:
    shown = display_url("https://u:p4ss@redcap.example.org:8443/api/?token=x#y")
    assert shown == "https://redcap.example.org:8443/api/"


def test_token_absent_from_logs_output_and_errors_of_a_failing_run(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reply(api, "version", raw="<html>oops</html>", status=500, content_type="text/html")
    reply(api, "version", raw="<html>oops</html>", status=200, content_type="text/html")
    reply(api, "version", raw=connection_dropped())
    caplog.set_level(logging.DEBUG)  # requests and urllib3 at their chattiest
    with capture_logs() as logs, pytest.raises(RedcapUnreachable) as info:
        make_client(retry=RetryPolicy(attempts=3)).version()

    assert len(logs) == 2  # the two retries
    assert TOKEN not in repr(logs)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr([r.__dict__ for r in caplog.records])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert TOKEN not in everything_about(info.value)


def test_a_redcap_message_echoing_the_token_is_redacted(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "project", {"error": f"The token {TOKEN} is not valid"}, status=403)
    with pytest.raises(RedcapRefused) as info:
        make_client().project_info()
    assert (
        str(info.value)
        == f"REDCap refused to export project info: The token {REDACTED} is not valid"
    )
    assert TOKEN not in everything_about(info.value)
    assert TOKEN not in info.value.redcap_message  # type: ignore[attr-defined]


def test_an_unexpected_error_holding_the_token_leaves_only_redacted(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug or a PyCap change must not turn into a token leak either."""

    def broken(payload: dict[str, str], return_type: str, result: object) -> None:
        raise KeyError(f"payload was {payload}")

    monkeypatch.setattr("worker.redcap_client.transport.check_shape", broken)
    reply(api, "project", {"project_id": 1})
    with pytest.raises(RuntimeError) as info:
        make_client().project_info()
    assert "KeyError" in str(info.value)
    assert TOKEN not in everything_about(info.value)
