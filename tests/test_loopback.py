"""Whether a host is this machine's loopback (worker/loopback.py), where plain traffic crosses
no network: by name or literal address only, never by what DNS says."""

from __future__ import annotations

import pytest

from worker.loopback import is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("smtp.example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_loopback_is_recognised_by_name_or_literal_address(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
