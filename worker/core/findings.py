"""A finding: what a check found, and where in REDCap the query about it belongs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Finding(BaseModel):
    """One finding, attached to a record, event, instance and field.

    ``evidence`` holds the values the check read (for the query fingerprint); it never
    leaves the process in reports, logs or emails.
    """

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: Kind
    severity: Severity
    record: str
    event: str | None
    instrument: str | None
    instance: int | None
    field: str | None
    message: str
    evidence: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    # The check itself failed on this participant: for the data manager, never a site query.
    check_error: bool = Field(default=False, exclude=True)

    def sort_key(self) -> tuple[Any, ...]:
        return (
            record_sort_key(self.record),
            self.event or "",
            self.instance or 0,
            self.field or "",
            self.rule,
        )

    def public(self) -> dict[str, Any]:
        """The finding as reports show it (no evidence values)."""
        return self.model_dump(mode="json")


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
