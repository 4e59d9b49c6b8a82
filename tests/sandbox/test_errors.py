"""The one exception the sandbox's API layer raises (worker/sandbox/errors.py): REDCap's error
answer, status plus message."""

from __future__ import annotations

from worker.sandbox.errors import NO_PERMISSION, ApiError, bad_request


def test_an_api_error_carries_the_status_and_the_message() -> None:
    error = ApiError(403, NO_PERMISSION)
    assert (error.status, error.message, str(error)) == (403, NO_PERMISSION, NO_PERMISSION)


def test_a_bad_request_is_a_400() -> None:
    error = bad_request('The value of the parameter "format" is not valid')
    assert error.status == 400
    assert error.message.startswith("The value of the parameter")
