"""Imports are not idempotent in general: retried only when REDCap surely never got them,
unless the caller declares the batch idempotent."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest
import requests
import responses

from tests.support.redcap_client import (
    TOKEN,
    FakeTime,
    connection_dropped,
    connection_refused,
    reply,
    sent,
)
from worker.errors import RedcapRefused, RedcapUnreachable
from worker.redcap_client import RedcapClient, RetryPolicy

ROWS = [
    {
        "study_id": "1",
        "redcap_repeat_instrument": "data_query",
        "redcap_repeat_instance": 3,  # explicit: a repeated import rewrites the same instance
        "dq_text": "SBP > 200?",
    }
]
VALIDATION_ERROR = (
    '"1","sbp","abc","The value of sbp must be an integer."\n'
    '"2","dob","1980-02-30","Invalid date format."\n'
    '"2","sbp","x","The value of sbp must be an integer."'
)


def test_import_sends_pycaps_payload_and_returns_the_count(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "record", {"count": 1}, params={"returnContent": "count"})
    assert make_client().import_records(ROWS, overwrite="overwrite") == 1
    form = sent(api.calls[0])
    assert json.loads(form.pop("data")) == ROWS
    assert form == {
        "token": TOKEN,
        "content": "record",
        "format": "json",
        "returnFormat": "json",
        "type": "flat",
        "overwriteBehavior": "overwrite",
        "returnContent": "count",
        "dateFormat": "YMD",
        "forceAutoNumber": "False",
    }


def test_import_can_return_the_record_ids(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "record", ["1", 2], params={"returnContent": "ids"})
    assert make_client().import_records(ROWS, return_content="ids") == ["1", "2"]


def test_nothing_to_import_sends_nothing(make_client: Callable[..., RedcapClient]) -> None:
    client = make_client()
    assert client.import_records([]) == 0
    assert client.requests_made == 0
    with pytest.raises(ValueError, match="overwrite"):
        client.import_records(ROWS, overwrite="erase")  # type: ignore[call-overload]


def test_a_connection_that_never_opened_is_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "record", raw=connection_refused())
    reply(api, "record", raw=requests.ConnectTimeout())
    reply(api, "record", {"count": 1})
    assert make_client().import_records(ROWS) == 1
    assert len(api.calls) == 3


@pytest.mark.parametrize(
    "lost",
    [
        lambda api: reply(api, "record", raw=connection_dropped()),
        lambda api: reply(api, "record", raw=requests.ReadTimeout()),
        lambda api: reply(api, "record", raw="<html/>", status=503, content_type="text/html"),
        lambda api: reply(api, "record", raw="<b>Fatal error</b>", content_type="text/html"),
    ],
    ids=["dropped", "read-timeout", "503", "html-200"],
)
def test_a_lost_answer_is_not_retried(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    lost: Callable[[responses.RequestsMock], None],
) -> None:
    """REDCap may have written the rows: sending them again could duplicate data."""
    lost(api)
    with pytest.raises(RedcapUnreachable) as info:
        make_client().import_records(ROWS)
    assert len(api.calls) == 1
    assert "may have been applied, so it was not retried" in str(info.value)
    assert info.value.maybe_applied  # type: ignore[attr-defined]
    assert "import records" in str(info.value)


def test_idempotent_imports_are_retried_like_reads(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "record", raw="<html/>", status=503, content_type="text/html")
    reply(api, "record", raw=connection_dropped())
    reply(api, "record", raw=requests.ReadTimeout())
    reply(api, "record", {"count": 1})
    assert make_client().import_records(ROWS, idempotent=True) == 1
    assert len(api.calls) == 4
    assert fake_time.sleeps == [0.375, 0.75, 1.5]


def test_validation_errors_are_refused_with_the_message_kept_aside(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "record", {"error": VALIDATION_ERROR}, status=400)
    with pytest.raises(RedcapRefused) as info:
        make_client().import_records(ROWS, idempotent=True)
    assert len(api.calls) == 1
    assert info.value.redcap_message == VALIDATION_ERROR  # type: ignore[attr-defined]
    # The one-line message names fields only; record values stay with the caller.
    assert str(info.value) == (
        "REDCap refused to import records: 3 value(s) rejected in field(s) sbp, dob "
        "(REDCap's full message, which may contain record values, is in the exception's "
        "redcap_message attribute)"
    )
    assert "1980-02-30" not in str(info.value)
    assert info.value.__context__ is None


def test_whole_request_errors_are_shown_as_they_are(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    message = "The following fields were not found in the project as real data fields: dq_txt"
    reply(api, "record", {"error": message}, status=400)
    with pytest.raises(RedcapRefused) as info:
        make_client().import_records(ROWS)
    assert str(info.value) == f"REDCap refused to import records: {message}"


def test_real_connection_refused_import_is_retried_to_the_limit(fake_time: FakeTime) -> None:
    """Through the real requests/urllib3 stack: a refused connection is known unsent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RedcapClient(
        f"http://127.0.0.1:{port}/api/",
        TOKEN,
        retry=RetryPolicy(attempts=2),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    with pytest.raises(RedcapUnreachable, match=r"connection refused \(2 attempts to import"):
        client.import_records(ROWS)
    assert client.requests_made == 2


def test_real_dropped_connection_import_is_not_retried(fake_time: FakeTime) -> None:
    """Through the real stack: the server read the request and hung up without answering."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)
    port = server.getsockname()[1]

    def hang_up_once() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)

    thread = threading.Thread(target=hang_up_once, daemon=True)
    thread.start()
    client = RedcapClient(
        f"http://127.0.0.1:{port}/api/",
        TOKEN,
        timeout=(2.0, 2.0),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    try:
        with pytest.raises(RedcapUnreachable, match="connection dropped; it may have been"):
            client.import_records(ROWS)
    finally:
        thread.join(5)
        server.close()
    assert client.requests_made == 1
