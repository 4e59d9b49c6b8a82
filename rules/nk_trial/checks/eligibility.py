"""Eligibility, consent, enrollment (protocol: Eligibility, consent, enrollment)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from worker.core.rules import Hit, at, at_part, check, check_all

from .models import Params, Participant
from .terms import day_word, days, first_infusion, is_treated

SCREENING = "screening"  # the mapping part of screening_arm_1


@check(
    "NK-ELG-01",
    kind="deviation",
    severity="critical",
    title="Treated without abnormal uNK function at screening",
)
def treated_without_abnormal_unk(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    abnormal = params.codes.mba_unk_status.abnormal
    screening = p.screening
    status = None if screening is None else screening.mba_unk_status
    if is_treated(p) and status != abnormal:
        label = params.label("mba_unk_status", status)
        found = "has no uNK status" if status is None else f"shows uNK status {label}"
        yield at_part(
            SCREENING,
            "mba_unk_status",
            f"Participant was treated, but her screening menstrual blood analysis {found}; "
            f"eligibility requires {params.label('mba_unk_status', abnormal)} uNK function.",
            screening.evidence("mba_unk_status") if screening is not None else {},
        )


@check(
    "NK-ELG-02",
    kind="deviation",
    severity="major",
    title="Treated without a recorded fertility need",
)
def treated_without_fertility_need(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    screening = p.screening
    need = None if screening is None else screening.enr_fertility_need
    if is_treated(p) and need is not True:
        found = "recorded as No" if need is False else "not recorded"
        yield at_part(
            SCREENING,
            "enr_fertility_need",
            f"Participant was treated, but her fertility need is {found}; eligibility "
            "requires a fertility need.",
            screening.evidence("enr_fertility_need") if screening is not None else {},
        )


@check(
    "NK-CON-01",
    kind="deviation",
    severity="critical",
    title="Blood collected without documented informed consent",
)
def collected_without_consent(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    if not any(t.pb_date is not None for t in p.treatments):
        return
    screening = p.screening
    signed = None if screening is None else screening.icf_signed
    signed_on = None if screening is None else screening.icf_date
    missing = []
    if signed is not True:
        missing.append("consent signed is " + ("No" if signed is False else "blank"))
    if signed_on is None:
        missing.append("the consent date is blank")
    if missing:
        yield at_part(
            SCREENING,
            "icf_signed",
            "Blood was collected for treatment, but informed consent is not documented: "
            + " and ".join(missing)
            + ".",
            screening.evidence("icf_signed", "icf_date") if screening is not None else {},
        )


@check(
    "NK-CON-02",
    kind="deviation",
    severity="critical",
    title="Blood collected before informed consent",
)
def collected_before_consent(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    screening = p.screening
    if screening is None or screening.icf_date is None:
        return
    signed_on = screening.icf_date
    for t in p.treatments:
        if t.pb_date is not None and t.pb_date < signed_on:
            yield at(
                t,
                "pb_date",
                f"Blood for treatment {t.instance} was collected "
                f"{day_word(days(signed_on, t.pb_date))} before informed consent was signed.",
                t.evidence("pb_date") | screening.evidence("icf_date"),
            )


# --- NK-ENR-01: across participants -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What NK-ENR-01 keeps per treated participant while records stream through."""

    record: str
    d0: date
    event: str | None
    instance: int | None
    evidence: tuple[tuple[str, str], ...]


def _enrolled(p: Participant, as_of: date, params: Params) -> Enrolled | None:
    first = first_infusion(p)
    if first is None:
        return None
    return Enrolled(
        record=p.record_id,
        d0=first.date,
        event=first.entry.event,
        instance=first.entry.instance,
        evidence=tuple(first.entry.evidence("inf_date").items()),
    )


def compare_record_ids(a: str, b: str) -> int:
    """Protocol: record IDs compare as integers when both are integers, else as text."""
    if a.isdigit() and b.isdigit():
        x, y = int(a), int(b)
        return (x > y) - (x < y)
    return (a > b) - (a < b)


@check_all(
    "NK-ENR-01",
    kind="deviation",
    severity="major",
    title="Treated beyond the enrollment target",
    key=_enrolled,
)
def beyond_enrollment_cap(keys: list[Enrolled], as_of: date, params: Params) -> Iterator[Hit]:
    cap = params.enrollment.cap
    by_record = functools.cmp_to_key(compare_record_ids)
    ordered = sorted(keys, key=lambda k: (k.d0, by_record(k.record)))
    for position, enrolled in enumerate(ordered, start=1):
        if position > cap:
            yield Hit(
                field="inf_date",
                message=(
                    f"She is treated participant number {position} in order of first "
                    f"infusion; the protocol enrolls {cap}."
                ),
                evidence=dict(enrolled.evidence),
                event=enrolled.event,
                instance=enrolled.instance,
                record=enrolled.record,
            )
