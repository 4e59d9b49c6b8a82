"""Every way a REDCap request can fail, sorted (worker/redcap_client/failures.py): retry it,
report REDCap's refusal, or stop. Reasons are short fixed phrases, never a body."""

from __future__ import annotations

import socket

import pytest
import requests
from urllib3.exceptions import NameResolutionError, ProtocolError

from worker.errors import RedcapRefused, RedcapUnreachable
from worker.redcap_client.failures import (
    BAN_MESSAGE,
    FailureKind,
    HTTPStatusFailure,
    RedcapRequestFailed,
    RedcapRequestRefused,
    UnexpectedResponse,
    classify,
    import_error_summary,
    redcap_error_message,
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "You do not have permissions"}, "You do not have permissions"),
        ('{"error": "Invalid token"}', "Invalid token"),
        ("ERROR: The value is not valid", "The value is not valid"),
        ("<?xml?><hash><error>Bad &amp; wrong</error></hash>", "Bad & wrong"),
        ({"count": 1}, None),
        ("<html>Fatal error</html>", None),
        ("{not json", None),
        (["a"], None),
    ],
)
def test_redcaps_error_message_is_read_from_each_of_its_formats(body, message) -> None:
    assert redcap_error_message(body) == message


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (503, FailureKind.RETRYABLE, "HTTP 503 Service Unavailable"),
        (429, FailureKind.RETRYABLE, "HTTP 429 Too Many Requests"),
        (408, FailureKind.RETRYABLE, "HTTP 408 Request Timeout"),
        (501, FailureKind.FATAL, "HTTP 501 Not Implemented (REDCap got a non-POST request)"),
        (404, FailureKind.FATAL, "HTTP 404 Not Found without a REDCap answer"),
    ],
)
def test_an_http_status_is_retried_only_when_transient(status, kind, reason) -> None:
    failure = classify(HTTPStatusFailure(status))
    assert failure is not None
    assert failure.kind is kind
    assert failure.reason.startswith(reason)


def test_a_redirect_is_never_followed_and_names_where_it_went() -> None:
    failure = classify(HTTPStatusFailure(302, location="https://elsewhere.example.org/"))
    assert failure is not None
    assert failure.kind is FailureKind.FATAL
    assert "to https://elsewhere.example.org/" in failure.reason
    assert "configure the final URL" in failure.reason


def test_a_4xx_with_redcaps_message_is_its_refusal_kept_with_the_status() -> None:
    failure = classify(HTTPStatusFailure(400, redcap_message="Unknown field"))
    assert failure is not None
    assert (failure.kind, failure.detail, failure.status) == (
        FailureKind.REFUSED,
        "Unknown field",
        400,
    )


def test_a_ban_is_a_refusal_saying_what_to_ask_for() -> None:
    failure = classify(HTTPStatusFailure(403, banned=True))
    assert failure is not None
    assert (failure.kind, failure.detail) == (FailureKind.REFUSED, BAN_MESSAGE)


def test_retry_after_is_kept_for_the_wait() -> None:
    failure = classify(HTTPStatusFailure(429, retry_after=12.0))
    assert failure is not None
    assert failure.retry_after == 12.0


def test_connection_refused_surely_never_reached_the_server() -> None:
    exc = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    failure = classify(exc)
    assert failure is not None
    assert (failure.kind, failure.reason, failure.surely_not_sent) == (
        FailureKind.RETRYABLE,
        "connection refused",
        True,
    )


def test_a_dropped_connection_may_have_been_received() -> None:
    exc = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    failure = classify(exc)
    assert failure is not None
    assert (failure.reason, failure.surely_not_sent) == ("connection dropped", False)


def test_an_unknown_host_is_named_as_such() -> None:
    cause = NameResolutionError("redcap.invalid", None, socket.gaierror(-2, "Name unknown"))  # type: ignore[arg-type]
    failure = classify(requests.ConnectionError(cause))
    assert failure is not None
    assert failure.reason == "host name not found"


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (requests.ReadTimeout(), FailureKind.RETRYABLE, "read timeout"),
        (requests.ConnectTimeout(), FailureKind.RETRYABLE, "connect timeout"),
        (requests.exceptions.ChunkedEncodingError(), FailureKind.RETRYABLE, "response cut off"),
        (requests.JSONDecodeError("x", "<html>", 0), FailureKind.RETRYABLE, "unparseable response"),
        (UnexpectedResponse("metadata: expected"), FailureKind.RETRYABLE, "unexpected response"),
        (requests.exceptions.SSLError(), FailureKind.FATAL, "TLS error"),
        (requests.exceptions.InvalidURL(), FailureKind.FATAL, "request failed (InvalidURL)"),
    ],
)
def test_transport_errors_are_sorted_by_what_retrying_can_fix(exc, kind, reason) -> None:
    failure = classify(exc)
    assert failure is not None
    assert failure.kind is kind
    assert failure.reason.startswith(reason)


def test_pycaps_error_holding_redcaps_message_is_a_refusal() -> None:
    failure = classify(requests.RequestException({"error": "Invalid token"}))
    assert failure is not None
    assert (failure.kind, failure.detail) == (FailureKind.REFUSED, "Invalid token")
    unreadable = classify(requests.RequestException("<html>oops</html>"))
    assert unreadable is not None
    assert unreadable.kind is FailureKind.RETRYABLE


def test_anything_else_is_a_bug_not_a_request_failure() -> None:
    assert classify(KeyError("x")) is None


def test_import_errors_are_summarised_without_record_names_or_values() -> None:
    message = (
        '"1001","dob","1950-13-01","The value is not a valid date"\n'
        '"1002","dob","x","The value is not a valid date"\n'
        '"1002","weight","heavy","The value is not a number"\n'
    )
    summary = import_error_summary(message)
    assert summary is not None
    assert summary.startswith("3 value(s) rejected in field(s) dob, weight ")
    for secret in ("1001", "1950-13-01", "heavy"):
        assert secret not in summary
    assert import_error_summary("The project is in production") is None


def test_the_errors_raised_carry_what_callers_act_on() -> None:
    refused = RedcapRequestRefused("refused", what="import", redcap_message="a\nb", status=400)
    assert isinstance(refused, RedcapRefused)
    assert refused.about_the_request
    assert refused.redcap_message == "a\nb"
    assert not RedcapRequestRefused("x", what="w", redcap_message="m", status=403).about_the_request
    failed = RedcapRequestFailed(
        "failed", what="export", reason="HTTP 503", error_class="X", attempts=4
    )
    assert isinstance(failed, RedcapUnreachable)
    assert (failed.attempts, failed.maybe_applied) == (4, False)
