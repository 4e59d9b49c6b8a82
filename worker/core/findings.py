"""A finding: what a check found, and where in REDCap the query about it belongs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
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


@dataclass
class CheckResult:
    """The outcome of one check run."""

    as_of: date
    findings: list[Finding] = field(default_factory=list)
    records_checked: int = 0
    check_errors: int = 0
    logic_errors: list[str] = field(default_factory=list)
    # A run over some records only: cross-participant checks did not run.
    partial: bool = False
    # The study's own checks configured (0: the generic checks alone); None: not known.
    study_checks: int | None = None
    # Checks not run because the project no longer has what they read: ID -> why.
    quarantined: dict[str, str] = field(default_factory=dict)
    # Per study check: whom it judged (the coverage ledger).
    coverage: dict[str, CheckCoverage] = field(default_factory=dict)
    # A check erring on more than this share of the participants it tried degrades the run
    # (``[check] max_error_share``).
    max_error_share: float = 0.05

    @property
    def degraded(self) -> list[str]:
        """Why this run is not a clean bill of health, one line each (empty: it is)."""
        lines = [f"check {rule} quarantined: {why}" for rule, why in self.quarantined.items()]
        limit = self.max_error_share
        for rule, cover in sorted(self.coverage.items()):
            if cover.errored and cover.error_share > limit:
                lines.append(
                    f"check {rule} errored on {cover.errored} of {cover.ran + cover.errored} "
                    f"participants ({cover.error_share:.0%}, limit {limit:.0%})"
                )
        return lines

    @property
    def status(self) -> str:
        """``ok``, or ``degraded`` when a check was quarantined or erred too often."""
        return "degraded" if self.degraded else "ok"
