"""How a rules folder declares its Python checks, and what a check returns.

A check is a plain function decorated with :func:`check` (one participant at a time) or
:func:`check_all` (across participants, e.g. an enrollment cap). It returns :class:`Hit`
objects: where the query belongs and what to tell the site. The framework turns each hit
into a :class:`~worker.core.findings.Finding`, adding the check's ID, kind and severity, the
record and the instrument (from the project's data dictionary), so a check needs nothing but
the participant, the as-of date and the parameters, and stays a pure function.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from worker.core.findings import Kind, Severity
from worker.core.mapping import PartEntry, Participant

Source = Literal["python", "logic", "schedule"]

# Messages go into reports and emails, which carry day counts, never a record's calendar
# dates; a message matching this is refused (a bug in the check, or in a rules file).
CALENDAR_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")

# A check sees the study's own participant class (a subclass of ``Participant`` declared in
# its rules folder, or one generated from the data dictionary) and its own parameters: the
# decorators keep the function's types as they are, so a type checker checks the body.
P = TypeVar("P", bound=Participant)
Pr = TypeVar("Pr")
K = TypeVar("K")
CheckFn = Callable[[P, date, Pr], Iterable["Hit"]]
KeyFn = Callable[[P, date, Pr], K | None]
EvaluateFn = Callable[[list[K], date, Pr], Iterable["Hit"]]


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """What a report or ``doctor`` says about a check."""

    id: str
    kind: Kind
    severity: Severity
    title: str
    source: Source
    # Runs over all participants at the end of a run (skipped on a partial run).
    cross_participant: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    """One thing a check found, and where the query about it belongs.

    The place is either an event and instance (``event``, ``instance``; set by :func:`at`
    from a part entry) or a part of the study's mapping with no data yet (``part``, and
    ``ordinal`` for a part spread over several events; set by :func:`at_part`). ``record``
    is set only by cross-participant checks; otherwise it is the participant checked.
    ``evidence`` holds the stored values the check read (for the query fingerprint).
    """

    field: str
    message: str
    evidence: Mapping[str, str] = dataclasses.field(default_factory=dict)
    event: str | None = None
    instance: int | None = None
    part: str | None = None
    ordinal: int | None = None
    record: str | None = None


def at(
    entry: PartEntry, field: str, message: str, evidence: Mapping[str, str] | None = None
) -> Hit:
    """A hit on ``field`` of a part entry (its event and instance).

    ``evidence`` defaults to the entry's stored value of ``field``.
    """
    return Hit(
        field=field,
        message=message,
        evidence=dict(evidence) if evidence is not None else entry.evidence(field),
        event=entry.event,
        instance=entry.instance,
    )


def at_part(
    part: str,
    field: str,
    message: str,
    evidence: Mapping[str, str] | None = None,
    *,
    ordinal: int | None = None,
) -> Hit:
    """A hit on ``field`` of a mapping part that may have no data (e.g. a missed visit):
    the event comes from the mapping (its ``ordinal``-th event for a multi-event part)."""
    return Hit(
        field=field, message=message, evidence=dict(evidence or {}), part=part, ordinal=ordinal
    )


@dataclass(frozen=True, slots=True)
class PythonCheck:
    """A declared Python check: its info and its function(s)."""

    info: CheckInfo
    run: Callable[..., Iterable[Hit]]  # a CheckFn, or an EvaluateFn when ``key`` is set
    key: Callable[..., Any] | None = None  # cross-participant checks: the per-participant key
    # Fields the check reads, as declared (``reads=``): a field the project lacks
    # quarantines the check. The mapping parts it reads are derived (see .inputs).
    reads: tuple[str, ...] = ()


_MARK = "__worker_check__"


def _info(check_id: str, kind: str, severity: str, title: str, *, cross: bool = False) -> CheckInfo:
    if not check_id or not title.strip() or "\n" in title:
        raise ValueError(f"check {check_id!r}: an ID and a one-line title are required")
    return CheckInfo(
        id=check_id,
        kind=Kind(kind),
        severity=Severity(severity),
        title=title.strip(),
        source="python",
        cross_participant=cross,
    )


def check(
    check_id: str, *, kind: str, severity: str, title: str, reads: Iterable[str] = ()
) -> Callable[[CheckFn[P, Pr]], CheckFn[P, Pr]]:
    """Declare a per-participant check ``fn(participant, as_of, params) -> Iterable[Hit]``.

    ``reads`` names fields the check reads: if the live project lacks one, the check is
    quarantined (not run, its queries left as they are) instead of failing on everyone.
    """
    info = _info(check_id, kind, severity, title)
    fields = tuple(reads)

    def mark(fn: CheckFn[P, Pr]) -> CheckFn[P, Pr]:
        setattr(fn, _MARK, PythonCheck(info, fn, reads=fields))
        return fn

    return mark


def check_all(
    check_id: str,
    *,
    kind: str,
    severity: str,
    title: str,
    key: KeyFn[P, Pr, K],
    reads: Iterable[str] = (),
) -> Callable[[EvaluateFn[K, Pr]], EvaluateFn[K, Pr]]:
    """Declare a cross-participant check.

    ``key(participant, as_of, params)`` runs on each participant as records stream through
    and returns a small value to keep (or ``None`` to keep nothing), so memory stays bounded
    by the keys, not the records. ``fn(keys, as_of, params) -> Iterable[Hit]`` runs once at
    the end of the run; its hits must name their ``record``.
    """
    info = _info(check_id, kind, severity, title, cross=True)
    fields = tuple(reads)

    def mark(fn: EvaluateFn[K, Pr]) -> EvaluateFn[K, Pr]:
        setattr(fn, _MARK, PythonCheck(info, fn, key, reads=fields))
        return fn

    return mark


def declared_check(obj: object) -> PythonCheck | None:
    """The check an object was declared as, if any (used by the loader)."""
    found = getattr(obj, _MARK, None)
    return found if isinstance(found, PythonCheck) else None
