"""Transient failures are retried with backoff, a bounded number of times; REDCap's own
refusals are not retried; whatever fails reaches the user as one clear line."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests
import responses
from structlog.testing import capture_logs

from tests.support.redcap_client import (
    CLASSIC_INSTRUMENTS,
    CLASSIC_METADATA,
    TOKEN,
    URL,
    FakeTime,
    connection_dropped,
    connection_refused,
    contents,
    project_info,
    refuse_project_xml,
    reply,
)
from worker.errors import RedcapRefused, RedcapUnreachable, StopRequested
from worker.redcap_client import (
    RedcapClient,
    RedcapRequestFailed,
    RedcapRequestRefused,
    RetryPolicy,
)
from worker.redcap_client.ratelimit import JITTER_MARGIN_S
from worker.redcap_client.transport import new_session
from worker.stopping import STOP_POLL_S

INFO = project_info(longitudinal=False, repeating=False)
PHP_FATAL = (
    "<br />\n<b>Fatal error</b>: Allowed memory size of 2147483648 bytes exhausted in "
    "<b>/var/www/redcap/Classes/Records.php</b> on line 1234<br />"
)
# Backoff with base 0.5 s, doubling, rng fixed at 0.5 (factor 0.75): 0.375, 0.75, 1.5, 3.0.
BACKOFF = [0.375, 0.75, 1.5, 3.0]


def reply_ok(api: responses.RequestsMock) -> None:
    reply(api, "project", INFO)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_retried_then_succeed(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    fake_time: FakeTime,
    status: int,
) -> None:
    reply(api, "project", raw="<html>Bad gateway</html>", status=status, content_type="text/html")
    reply_ok(api)
    client = make_client()
    assert client.project_info() == INFO
    assert client.requests_made == 2
    assert fake_time.sleeps == BACKOFF[:1]


@pytest.mark.parametrize(
    "failure",
    [connection_dropped, connection_refused, requests.ReadTimeout, requests.ConnectTimeout],
    ids=["dropped", "refused", "read-timeout", "connect-timeout"],
)
def test_transport_errors_are_retried_then_succeed(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    failure: Callable[[], Exception],
) -> None:
    reply(api, "project", raw=failure())
    reply(api, "project", raw=failure())
    reply_ok(api)
    client = make_client()
    assert client.project_info() == INFO
    assert client.requests_made == 3


def test_429_waits_as_long_as_retry_after_says(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "project", raw="Too many", status=429, headers={"Retry-After": "7"})
    reply_ok(api)
    assert make_client().project_info() == INFO
    assert fake_time.sleeps == [7.0]


def test_429_retry_after_is_capped(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "project", raw="Too many", status=429, headers={"Retry-After": "86400"})
    reply_ok(api)
    make_client(retry=RetryPolicy(retry_after_max=90.0)).project_info()
    assert fake_time.sleeps == [90.0]


def test_429_without_retry_after_backs_off_and_gives_up(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "project", raw="Too many", status=429)
    with pytest.raises(RedcapUnreachable, match="HTTP 429 Too Many Requests"):
        make_client(retry=RetryPolicy(attempts=3)).project_info()
    assert len(api.calls) == 3
    assert fake_time.sleeps == BACKOFF[:2]  # never a tight loop


def test_an_ip_ban_is_not_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """A REDCap ban is permanent: more requests only add to the abuse count."""
    ban = "Your IP address (10.1.2.3) has been banned due to suspected abuse."
    reply(api, "project", raw=ban, status=429, content_type="text/html")
    with pytest.raises(RedcapRefused, match=r"banned by REDCap .* administrator"):
        make_client().project_info()
    assert len(api.calls) == 1


def test_php_error_page_with_status_200_is_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "project", raw=PHP_FATAL, content_type="text/html")
    reply_ok(api)
    assert make_client().project_info() == INFO
    assert len(api.calls) == 2


@pytest.mark.parametrize("wrong", [[], {"unexpected": True}, [{"project_id": 1}]])
def test_project_info_of_the_wrong_shape_is_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], wrong: object
) -> None:
    reply(api, "project", wrong)
    reply_ok(api)
    assert make_client().project_info() == INFO
    assert len(api.calls) == 2


@pytest.mark.parametrize("wrong", [{"a": 1}, [], ["study_id"], [{"field": "x"}]])
def test_metadata_of_the_wrong_shape_is_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], wrong: object
) -> None:
    reply(api, "metadata", wrong)
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", [{"study_id": "1"}])
    assert make_client().record_ids() == ["1"]
    assert contents(api) == ["metadata", "metadata", "record"]


def test_non_version_text_is_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "version", raw="<html>maintenance</html>", content_type="text/html")
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    assert make_client().version() == "15.7.6"


def test_gives_up_after_the_configured_attempts_naming_the_url(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "project", raw="<html>down</html>", status=503, content_type="text/html")
    with pytest.raises(RedcapUnreachable) as info:
        make_client().project_info()
    assert str(info.value) == (
        f"cannot reach REDCap at {URL}: HTTP 503 Service Unavailable "
        "(5 attempts to export project info)"
    )
    assert len(api.calls) == 5
    assert fake_time.sleeps == BACKOFF
    assert isinstance(info.value, RedcapRequestFailed)
    assert (info.value.reason, info.value.error_class, info.value.attempts) == (
        "HTTP 503 Service Unavailable",
        "HTTPStatusFailure",
        5,
    )
    assert info.value.exit_code == 3
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_redcaps_message_in_a_5xx_is_kept_for_the_final_error(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    memory = (
        "REDCap ran out of server memory. The request cannot be processed. Please try "
        "importing/exporting a smaller amount of data."
    )
    reply(api, "project", {"error": memory}, status=500)
    with pytest.raises(RedcapUnreachable, match="HTTP 500 Internal Server Error: REDCap ran out"):
        make_client(retry=RetryPolicy(attempts=2)).project_info()
    assert len(api.calls) == 2


def test_real_connection_refused_on_loopback(fake_time: FakeTime) -> None:
    """No mock: a closed loopback port, and the message the user sees."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/"
    client = RedcapClient(
        url,
        TOKEN,
        retry=RetryPolicy(attempts=3),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rng=lambda: 0.5,
    )
    with pytest.raises(RedcapUnreachable) as info:
        client.project_info()
    assert str(info.value) == (
        f"cannot reach REDCap at {url}: connection refused (3 attempts to export project info)"
    )
    assert client.requests_made == 3


@pytest.mark.parametrize("status", [400, 403, 200])
def test_redcap_error_message_is_not_retried_and_shown_verbatim(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], status: int
) -> None:
    reply(api, "project", {"error": "You do not have permissions to use the API"}, status=status)
    with pytest.raises(RedcapRefused) as info:
        make_client().project_info()
    assert str(info.value) == (
        "REDCap refused to export project info: You do not have permissions to use the API"
    )
    assert isinstance(info.value, RedcapRequestRefused)
    assert info.value.redcap_message == "You do not have permissions to use the API"
    assert len(api.calls) == 1
    assert info.value.__context__ is None


def test_unknown_form_refusal_names_the_form(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    message = "The following values in the parameter \"forms\" are not valid: 'vitalz'"
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", {"error": message}, status=400)
    with pytest.raises(RedcapRefused) as info:
        make_client().export_records(["1"], forms=["vitalz"])
    assert str(info.value) == f"REDCap refused to export records: {message}"
    assert contents(api) == ["metadata", "record"]


def test_xml_error_of_the_version_call_is_read(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """The version call sends no format, so REDCap answers errors in XML."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" ?><hash><error>You do not have permissions '
        "to use the API</error></hash>"
    )
    reply(api, "version", raw=body, status=403, content_type="text/xml")
    with pytest.raises(RedcapRefused, match="read the REDCap version: You do not have"):
        make_client().version()
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    ("status", "headers", "says"),
    [
        (404, None, "HTTP 404 Not Found without a REDCap answer"),
        (501, None, "HTTP 501 Not Implemented"),
        (
            302,
            {"Location": "https://login.example.org/sso?next=x"},
            "HTTP 302 Found to https://login.example.org/sso (redirects are not followed",
        ),
    ],
)
def test_answers_that_retrying_cannot_fix_stop_at_once(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    status: int,
    headers: dict[str, str] | None,
    says: str,
) -> None:
    reply(
        api,
        "project",
        raw="<html>nope</html>",
        status=status,
        headers=headers,
        content_type="text/html",
    )
    with pytest.raises(RedcapUnreachable) as info:
        make_client().project_info()
    assert says in str(info.value)
    assert "(1 attempt to export project info)" in str(info.value)
    assert len(api.calls) == 1


def test_tls_verification_failure_is_not_retried(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "project", raw=requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"))
    with pytest.raises(RedcapUnreachable, match="TLS error"):
        make_client().project_info()
    assert len(api.calls) == 1


def test_each_retry_is_logged_once_with_attempt_and_reason_not_body(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "project", raw="<html>private body</html>", status=503, content_type="text/html")
    reply(api, "project", raw=PHP_FATAL, content_type="text/html")
    reply_ok(api)
    with capture_logs() as logs:
        make_client().project_info()
    retries = [e for e in logs if e["event"] == "redcap request failed, retrying"]
    assert [(e["log_level"], e["attempt"], e["reason"], e["error"]) for e in retries] == [
        ("warning", 1, "HTTP 503 Service Unavailable", "HTTPStatusFailure"),
        ("warning", 2, "unparseable response (not JSON)", "JSONDecodeError"),
    ]
    assert all(e["attempts"] == 5 and e["url"] == URL for e in retries)
    assert "private body" not in repr(logs)
    assert "Fatal error" not in repr(logs)


def test_timeout_and_tls_verification_on_every_request(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    expected = {"timeout": (3.0, 300.0)}
    reply(api, "version", raw="15.7.6", content_type="text/csv", request_kwargs=expected)
    reply(api, "project", raw="<html/>", status=502, request_kwargs=expected)
    reply(api, "project", INFO, request_kwargs=expected)
    reply(api, "metadata", CLASSIC_METADATA, request_kwargs=expected)
    reply(api, "instrument", CLASSIC_INSTRUMENTS, request_kwargs=expected)
    refuse_project_xml(api, request_kwargs=expected)
    reply(
        api,
        "record",
        [{"study_id": "1"}],
        params={"fields[0]": "study_id"},
        request_kwargs=expected,
    )
    reply(api, "record", [{"study_id": "1"}], params={"records[0]": "1"}, request_kwargs=expected)
    client = make_client(timeout=(3.0, 300.0))
    client.schema()
    list(client.iter_record_batches())
    assert client.requests_made == 8
    # requests turns verify=True into the CA bundle path when REQUESTS_CA_BUNDLE is set.
    verify = [c.request.req_kwargs["verify"] for c in api.calls]  # type: ignore[attr-defined]
    assert all(v not in (False, None) for v in verify)


def test_verify_ssl_false_is_passed_on(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "project", INFO, request_kwargs={"verify": False, "timeout": (5.0, 120.0)})
    with capture_logs() as logs:
        client = make_client(verify_ssl=False)
    client.project_info()
    assert any("verification is off" in e["event"] for e in logs)


def test_a_session_takes_its_rate_slot_once_per_request_as_it_sends(
    api: responses.RequestsMock,
) -> None:
    # Taken by the adapter, after the request is built: what the limiter spaces is then
    # what the server receives, not the time spent encoding a large body before it.
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    sent_before: list[int] = []
    session = new_session(lambda: sent_before.append(len(api.calls)))
    for _ in range(2):
        session.post(URL, data={"content": "version", "token": TOKEN}, allow_redirects=False)
    assert sent_before == [0, 1]


def test_requests_are_spaced_by_the_rate_ceiling(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply_ok(api)
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "instrument", CLASSIC_INSTRUMENTS)
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    refuse_project_xml(api)
    make_client(max_requests_per_second=2.0).schema()
    # Two starts per window of 1 s and the jitter margin. The fake clock stands
    # still during requests: of the five (data dictionary, project XML refused, project
    # info, instruments, version), the third and fourth wait for the next window, together,
    # and the fifth for the one after.
    assert contents(api) == ["metadata", "project_xml", "project", "instrument", "version"]
    window = 1.0 + JITTER_MARGIN_S
    assert fake_time.sleeps == pytest.approx([window, window])


def test_retries_go_through_the_rate_limiter_too(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], fake_time: FakeTime
) -> None:
    reply(api, "project", raw="<html/>", status=503)
    reply_ok(api)
    # Backoff (0.375 s) is shorter than the window (1 s and the margin): the limiter adds
    # the rest.
    make_client(max_requests_per_second=1.0).project_info()
    assert fake_time.sleeps == pytest.approx([0.375, 1.0 + JITTER_MARGIN_S - 0.375])


# -- a stop request: no new attempt, and retry waits end at once --------------------------


def test_a_stop_during_a_retry_wait_ends_the_wait_and_starts_no_new_attempt(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    fake_time: FakeTime,
) -> None:
    # A long Retry-After (60 s): without a stop the client would wait it out, then retry.
    reply(api, "project", raw="busy", status=503, headers={"Retry-After": "60"})
    stop = {"requested": False}

    def sleep(seconds: float) -> None:
        fake_time.sleep(seconds)
        stop["requested"] = True  # SIGTERM arrives during the first slice of the wait

    client = make_client(sleep=sleep, should_stop=lambda: stop["requested"])
    with pytest.raises(StopRequested, match="stopped before the request to export project"):
        client.project_info()
    assert client.requests_made == 1  # the 503; no second attempt
    assert fake_time.sleeps == [STOP_POLL_S]  # one slice of the 60 s wait, not all of it


def test_after_a_stop_no_request_starts(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    client = make_client(should_stop=lambda: True)
    with pytest.raises(StopRequested):
        client.project_info()
    assert client.requests_made == 0


def test_without_a_stop_the_wait_is_whole_in_slices(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    fake_time: FakeTime,
) -> None:
    reply(api, "project", raw="busy", status=503)
    reply_ok(api)
    client = make_client(should_stop=lambda: False)
    assert client.project_info() == INFO
    assert sum(fake_time.sleeps) == pytest.approx(BACKOFF[0])
    assert max(fake_time.sleeps) <= STOP_POLL_S
