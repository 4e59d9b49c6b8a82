"""Whether a host is this machine's loopback, where plain (unencrypted) traffic crosses no
network: the one rule the REDCap client and the SMTP sender both apply to plain transports."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """By name or literal address only: a name resolved by DNS could point anywhere."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
