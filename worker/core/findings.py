"""A finding: what a check found, and where in REDCap the query about it belongs."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from sys import intern
from typing import Any


class Kind(StrEnum):
    QUERY = "query"
    DEVIATION = "deviation"


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return {"critical": 3, "major": 2, "minor": 1}[self.value]


def _shared(text: str) -> str:
    """One copy of a text however many findings hold it: check IDs, events, fields, record
    IDs and many messages repeat across participants (``sys.intern`` drops a text again once
    nothing holds it)."""
    return intern(text) if type(text) is str else text


_NO_EVIDENCE: tuple[str, ...] = ()


def _flat_evidence(evidence: Mapping[str, str]) -> tuple[str, ...]:
    """key, value, key, value, ...: each text shared (see ``_shared``)."""
    flat = chain.from_iterable(evidence.items())
    try:
        return tuple(map(intern, flat))  # texts, as evidence holds: interned in one pass
    except TypeError:  # something else than a plain str: each kept as _shared keeps it
        return tuple(map(_shared, chain.from_iterable(evidence.items())))


class Finding:
    """One finding, attached to a record, event, instance and field.

    ``evidence`` holds the values the check read (for the query fingerprint); it never
    leaves the process in reports, logs or emails.

    Compact and immutable: a run holds every finding until it writes them out (hundreds of
    thousands in a large project), so a finding is a slotted object sharing its repeated
    texts, with its evidence as one flat tuple.
    """

    __slots__ = (
        "_evidence",
        "check_error",
        "event",
        "field",
        "instance",
        "instrument",
        "kind",
        "message",
        "record",
        "rule",
        "severity",
    )

    rule: str
    kind: Kind
    severity: Severity
    record: str
    event: str | None
    instrument: str | None
    instance: int | None
    field: str | None
    message: str
    _evidence: tuple[str, ...]  # key, value, key, value, ...: one object, not one per pair
    # The check itself failed on this participant: for the data manager, never a site query.
    check_error: bool

    def __init__(
        self,
        *,
        rule: str,
        kind: Kind | str,
        severity: Severity | str,
        record: str,
        event: str | None,
        instrument: str | None,
        instance: int | None,
        field: str | None,
        message: str,
        evidence: Mapping[str, str] | None = None,
        check_error: bool = False,
    ) -> None:
        put = object.__setattr__
        put(self, "rule", _shared(rule))
        # The enum call only for text (it is slow next to a type test).
        put(self, "kind", kind if type(kind) is Kind else Kind(kind))
        put(self, "severity", severity if type(severity) is Severity else Severity(severity))
        put(self, "record", _shared(record))
        put(self, "event", None if event is None else _shared(event))
        put(self, "instrument", None if instrument is None else _shared(instrument))
        put(self, "instance", instance)
        put(self, "field", None if field is None else _shared(field))
        put(self, "message", _shared(message))
        put(self, "_evidence", _flat_evidence(evidence) if evidence else _NO_EVIDENCE)
        put(self, "check_error", bool(check_error))

    @property
    def evidence(self) -> dict[str, str]:
        """The values the check read, keyed ``event[instance].field`` (a fresh dict)."""
        flat = self._evidence
        return dict(zip(flat[::2], flat[1::2], strict=True))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Finding is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Finding is immutable: cannot delete {name}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.public_items())
        return f"Finding({shown}, check_error={self.check_error!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (dict(self.public_items()), self.evidence, self.check_error))

    def sort_key(self) -> tuple[Any, ...]:
        return (
            record_sort_key(self.record),
            self.event or "",
            self.instance or 0,
            self.field or "",
            self.rule,
        )

    def public_items(self) -> list[tuple[str, Any]]:
        """The public columns with their values (Kind and Severity as they are)."""
        return [(name, getattr(self, name)) for name in PUBLIC_FIELDS]

    def public(self) -> dict[str, Any]:
        """The finding as reports show it (no evidence values): JSON types only."""
        return {
            name: value.value if isinstance(value, Kind | Severity) else value
            for name, value in self.public_items()
        }


def _rebuild(public: dict[str, Any], evidence: dict[str, str], check_error: bool) -> Finding:
    return Finding(**public, evidence=evidence, check_error=check_error)


# A finding's public columns, in the order reports show them.
PUBLIC_FIELDS = (
    "rule",
    "kind",
    "severity",
    "record",
    "event",
    "instrument",
    "instance",
    "field",
    "message",
)


def record_sort_key(record_id: str) -> tuple[int, int, str, str]:
    """The protocol's order of record IDs, a total order: IDs made only of the digits 0-9
    first, by numeric value; then every other ID, by text (Unicode code points). So
    "9" < "10" < "1a" < "2x".

    A number is compared by its length without leading zeros, then digit by digit: no
    conversion, so an ID of any length orders (``int()`` refuses more than 4300 digits),
    and digits of other scripts ("٣", which ``str.isdigit`` accepts) are text. Equal values
    written differently ("7", "007") are ordered by their text.
    """
    if record_id.isascii() and record_id.isdigit():
        digits = record_id.lstrip("0")
        return (0, len(digits), digits, record_id)
    return (1, 0, "", record_id)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def merge_sorted(runs: list[list[Finding]]) -> list[Finding]:
    """Sorted lists of findings as one, ordered as ``sort_findings`` orders them all
    together (equal keys keep the lists' order), emptying ``runs``. Only one sort key per
    list is alive at a time."""
    merged = list(heapq.merge(*runs, key=Finding.sort_key))
    runs.clear()
    return merged


# Why a check did not judge a participant (the coverage ledger's reasons).
SKIP_QUARANTINED = "quarantined"
SKIP_PARTIAL = "partial run"
SKIP_BLANK = "inputs blank"


@dataclass
class CheckCoverage:
    """What one check judged in a run: participants it ran on, skipped (by reason) or
    errored on."""

    ran: int = 0
    errored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    @property
    def error_share(self) -> float:
        """The share of the participants it tried that it errored on (0 when it tried none)."""
        tried = self.ran + self.errored
        return self.errored / tried if tried else 0.0

    def public(self) -> dict[str, Any]:
        return {"ran": self.ran, "errored": self.errored, "skipped": dict(self.skipped)}
