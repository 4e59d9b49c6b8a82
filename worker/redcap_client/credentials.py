"""Validate the REDCap URL and token before PyCap sees them.

PyCap 2.7.0 checks both with ``assert`` and puts the token into the assertion message, and
those asserts vanish under ``python -O``. We check first, with messages that never contain
the token (its length is safe to say).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import SecretStr

from worker.errors import ConfigError
from worker.loopback import is_loopback
from worker.redcap_client.redact import display_url

TOKEN_LENGTH = 32
SUPER_TOKEN_LENGTH = 64
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")


def check_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Return ``url`` if it is an http(s) URL of a REDCap API endpoint (ends with ``/api/``).

    Plain ``http://`` is refused unless the host is this machine's loopback: every request
    carries the token, which would cross the network readable by anyone on the way.
    ``allow_insecure_http`` lifts that, for test servers only.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("REDCap URL is missing")
    url = url.strip()
    parts = urlsplit(url)
    shown = display_url(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"REDCap URL {shown!r} must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment or not parts.path.endswith("/api/"):
        raise ConfigError(
            f"REDCap URL {shown!r} must be the API endpoint, ending with '/api/' "
            "(e.g. https://redcap.example.org/api/)"
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ConfigError(
            f"REDCap URL {shown!r} is plain http to a host that is not this machine: the API "
            "token would travel unencrypted; use https:// (redcap.allow_insecure_http = true "
            "allows it, for test servers only)"
        )
    return url


def check_token(token: str | SecretStr) -> str:
    """Return the token as a plain string if it looks like a REDCap project API token.

    Surrounding whitespace is dropped (a token read from a secrets file often ends with a
    newline). The messages state the length found, never the token.
    """
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    if not isinstance(token, str):
        raise ConfigError(f"REDCap token must be a string, not {type(token).__name__}")
    token = token.strip()
    if not token:
        raise ConfigError("REDCap token is missing")
    if len(token) == SUPER_TOKEN_LENGTH and _ALPHANUMERIC.fullmatch(token):
        raise ConfigError(
            f"REDCap token has {SUPER_TOKEN_LENGTH} characters: that is a super API token, "
            "which can create projects; use the project's own API token "
            f"({TOKEN_LENGTH} characters)"
        )
    if len(token) != TOKEN_LENGTH or not _ALPHANUMERIC.fullmatch(token):
        raise ConfigError(
            f"REDCap token must be {TOKEN_LENGTH} letters and digits "
            f"(got {len(token)} characters"
            + ("" if _ALPHANUMERIC.fullmatch(token) else ", some not letters or digits")
            + ")"
        )
    return token
