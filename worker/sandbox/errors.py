"""The one exception the API layer raises: REDCap's error answer, status plus message."""

from __future__ import annotations


class ApiError(Exception):
    """An error REDCap would answer with; rendered in the request's return format."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# REDCap's default 403 body (RestUtility), used for a wrong or missing token.
NO_PERMISSION = "You do not have permissions to use the API"
