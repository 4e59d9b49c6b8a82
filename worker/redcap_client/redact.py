"""Keep the API token out of every string the client lets escape.

The token travels in the POST body, so requests and urllib3 never print it; the risks are
exception text (PyCap's own assertion echoes it), REDCap messages and our own formatting.
Everything the client puts into an exception or a log line goes through ``Redactor.redact``.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"


class Redactor:
    """Replaces known secrets in text. Holds the secrets, so it never shows them itself."""

    __slots__ = ("_secrets",)

    def __init__(self, *secrets: str) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def redact(self, text: object) -> str:
        result = str(text)
        for secret in self._secrets:
            result = result.replace(secret, REDACTED)
        return result

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secret(s)>)"


def display_url(url: str) -> str:
    """The URL as it may be shown to a user: no user:password part, no query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def one_line(text: str, limit: int = 2000) -> str:
    """Collapse whitespace so a message fits one log or terminal line, and bound its length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
