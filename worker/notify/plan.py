"""Which summaries one run sends, to whom, and what the ledger remembers (pure: no I/O).

"New" is decided against the ledger, not against the run's writes: a deviation is new while
its occurrence (query ID, when opened, reopen count) is open and neither announced nor
waiting for the digest. So a run that crashed after writing its queries but before its
summaries still announces them next time, and a query re-created after a rejected write is
not announced twice.

- A new critical deviation is announced at once, in a critical alert.
- Other new deviations wait in ``pending`` until the digest is due; a digest goes out only
  when something new is still open, and only from a run that checked every record (a
  partial run cannot list everything still open, nor count progress).
- Every summary goes to the study team (recipients per severity of what it announces) and,
  per data access group with recipients of its own, to that site with its records only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any, ClassVar, Self

from worker.config import EmailSettings
from worker.core.findings import Severity
from worker.notify.schedule import digest_due
from worker.notify.snapshot import Item, Snapshot
from worker.notify.summary import Summary, SummaryKind, compose_critical, compose_digest
from worker.state_records import fields, moment_json, optional_moment, texts


@dataclass
class Ledger:
    """The notifier's memory, kept in the state folder between runs."""

    announced: list[str] = field(default_factory=list)  # occurrences in a queued summary
    pending: list[str] = field(default_factory=list)  # occurrences waiting for the digest
    last_digest_at: datetime | None = None
    # Quarantines the data manager was told of and still current (see notify/quarantine.py).
    quarantines: list[str] = field(default_factory=list)

    # A state record (``worker.state_records``): <state>/notify.json.
    FILE: ClassVar[str] = "notify.json"
    FORMAT: ClassVar[int] = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "announced": self.announced,
            "pending": self.pending,
            "last_digest_at": moment_json(self.last_digest_at),
            "quarantines": self.quarantines,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return cls(
            announced=texts(document.get("announced", []), "announced"),
            pending=texts(document.get("pending", []), "pending"),
            last_digest_at=optional_moment(document.get("last_digest_at"), "last_digest_at"),
            quarantines=texts(document.get("quarantines", []), "quarantines"),
        )

    @classmethod
    def from_unversioned(cls, value: object) -> Self:
        """The ledger as the previous code wrote it, read as leniently as that code did: a
        damaged part costs a re-announcement or an early digest, never the rest."""
        data = fields(value, cls.FILE)
        try:
            last_digest_at = optional_moment(data.get("last_digest_at"), "last_digest_at")
        except ValueError:
            last_digest_at = None
        return cls(
            announced=_keys(data.get("announced")),
            pending=_keys(data.get("pending")),
            last_digest_at=last_digest_at,
            quarantines=_keys(data.get("quarantines")),
        )


def _keys(value: object) -> list[str]:
    """An unversioned ledger's list of keys; anything else (a damaged file's) as none."""
    return [str(k) for k in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class Outgoing:
    key: str  # the summary's identity: the outbox file name and the sent-keys entry
    summary: Summary
    audience: str  # who it is for (see audience_of); recipients follow from the settings


@dataclass
class Planned:
    outgoing: list[Outgoing]
    ledger: Ledger


def plan_summaries(
    snapshot: Snapshot, ledger: Ledger, email: EmailSettings, *, now: datetime, timezone: str
) -> Planned:
    open_deviations = {i.key: i for i in snapshot.deviations}
    known = set(ledger.announced) | set(ledger.pending)
    fresh = [i for i in open_deviations.values() if i.key not in known]
    critical = [i for i in fresh if i.severity is Severity.CRITICAL]
    announced = [*ledger.announced, *(i.key for i in critical)]
    pending = [*ledger.pending, *(i.key for i in fresh if i.severity is not Severity.CRITICAL)]
    last_digest_at = ledger.last_digest_at
    outgoing: list[Outgoing] = []
    if critical:
        outgoing += _for_audiences(SummaryKind.CRITICAL, snapshot, critical, email)

    if snapshot.complete and pending and digest_due(email.digest, last_digest_at, now, timezone):
        still_open = [open_deviations[k] for k in pending if k in open_deviations]
        resolved = len(pending) - len(still_open)
        if still_open:
            outgoing += _for_audiences(
                SummaryKind.DIGEST, snapshot, still_open, email, resolved_before=resolved
            )
            last_digest_at = now
        announced += [i.key for i in still_open]
        pending = []

    if snapshot.complete:
        # Only what is still open needs remembering: a deviation that comes back is a new
        # occurrence (a new reopen count), so the ledger stays as small as the open list.
        announced = [k for k in announced if k in open_deviations]
    ledger_out = Ledger(
        _unique(announced), _unique(pending), last_digest_at, list(ledger.quarantines)
    )
    return Planned(outgoing, ledger_out)


def _for_audiences(
    kind: SummaryKind,
    snapshot: Snapshot,
    new: Sequence[Item],
    email: EmailSettings,
    *,
    resolved_before: int = 0,
) -> list[Outgoing]:
    def compose(view: Snapshot, items: Sequence[Item]) -> Summary:
        if kind is SummaryKind.CRITICAL:
            return compose_critical(view, items, limit=email.max_items)
        return compose_digest(view, items, resolved_before=resolved_before, limit=email.max_items)

    summary = compose(snapshot, new)
    outgoing = [Outgoing(_key(kind, "study", new), summary, audience_of(None, summary.severities))]
    for site, addresses in sorted(email.sites.items()):
        mine = [i for i in new if i.site == site]
        if mine and addresses:
            view = snapshot.for_site(site)
            outgoing.append(
                Outgoing(_key(kind, f"site-{site}", mine), compose(view, mine), audience_of(site))
            )
    return outgoing


# Who hears about the worker itself (scheduled syncs failing): ``email.data_manager``.
DATA_MANAGER_AUDIENCE = "data-manager"


def audience_of(site: str | None, severities: Iterable[Severity] = ()) -> str:
    """``site:<group>`` for a site's own summary; ``study:<severities>`` for the study team,
    who get it by the severities it announces (a critical alert: the ``critical`` list)."""
    if site:
        return f"site:{site}"
    return "study:" + ",".join(s.value for s in sorted(set(severities), key=lambda s: -s.rank))


def recipients_for(audience: str, email: EmailSettings) -> tuple[str, ...]:
    """The addresses for an audience, from the settings as they are now: a queued summary
    goes to the recipients configured when it is sent, so fixing a wrong address in the
    settings fixes the summaries still waiting too."""
    kind, _, rest = audience.partition(":")
    if audience == DATA_MANAGER_AUDIENCE:
        return _unique_tuple(email.data_manager)
    if kind == "site":
        return _unique_tuple(email.sites.get(rest, []))
    if kind == "data_manager":
        return _unique_tuple(email.data_manager)
    lists = {
        Severity.CRITICAL.value: email.critical,
        Severity.MAJOR.value: email.major,
        Severity.MINOR.value: email.minor,
    }
    return _unique_tuple(a for sev in rest.split(",") if sev for a in lists.get(sev, []))


def _key(kind: SummaryKind, audience: str, new: Iterable[Item]) -> str:
    """Derived from what the summary announces, so a run repeated after a crash between
    queuing and saving the ledger queues the same file again instead of a second one."""
    digest = sha256("\n".join(sorted(i.key for i in new)).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in audience)
    return f"{kind.value}-{safe}-{digest}"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
