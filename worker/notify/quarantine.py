"""The data manager's notice of quarantined checks: once per quarantine, not every run.

A check is quarantined when the project no longer has a field, form or event it reads
(see worker.core.rules.inputs). The notice names the checks and what they miss (check,
field, form and event names only); the ledger remembers which quarantines were told, and
forgets one as soon as it lifts, so the same check quarantined again later is told again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from html import escape

from worker.notify.render import Rendered
from worker.notify.summary import SUBJECT_PREFIX

AUDIENCE = "data_manager"


def quarantine_key(check: str, reason: str) -> str:
    """A quarantine's identity: the check and why (a different reason is a new one)."""
    return f"{check}:{sha256(reason.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class QuarantineNotice:
    key: str  # the outbox file name and Message-ID
    subject: str
    rendered: Rendered
    told: tuple[str, ...]  # every quarantine key current now (the ledger's new list)


def quarantine_notice(
    quarantined: Mapping[str, str], titles: Mapping[str, str], told: Sequence[str]
) -> tuple[QuarantineNotice | None, list[str]]:
    """The notice for quarantines not told yet (None if there are none), and the keys the
    ledger keeps: exactly the quarantines current now."""
    current = {quarantine_key(c, why): (c, why) for c, why in sorted(quarantined.items())}
    fresh = [(c, why) for key, (c, why) in current.items() if key not in set(told)]
    keep = list(current)
    if not fresh:
        return None, keep
    n = len(fresh)
    lines = [
        f"{n} check{'s' if n != 1 else ''} stopped running: the REDCap project no longer has "
        "a field, form or event it reads. Until the project or the rules are fixed, each is "
        "skipped in every run and its existing queries are left as they are (neither closed "
        "nor reopened); every other check runs. `doctor` lists them.",
        "",
    ]
    for check, why in fresh:
        title = titles.get(check, "")
        lines.append(f"  - {check}{f' ({title})' if title else ''}: {why}")
    text = "\n".join(lines) + "\n"
    items = "".join(
        f"<li><strong>{escape(c)}</strong> {escape(titles.get(c, ''))}: {escape(why)}</li>"
        for c, why in fresh
    )
    html = f"<!DOCTYPE html>\n<html><body><p>{escape(lines[0])}</p><ul>{items}</ul></body></html>\n"
    digest = sha256("\n".join(quarantine_key(c, w) for c, w in fresh).encode()).hexdigest()[:12]
    subject = f"{SUBJECT_PREFIX} {n} check{'s' if n != 1 else ''} quarantined: " + ", ".join(
        c for c, _ in fresh
    )
    notice = QuarantineNotice(
        key=f"quarantine-{digest}",
        subject=subject,
        rendered=Rendered(text=text, html=html),
        told=tuple(keep),
    )
    return notice, keep
