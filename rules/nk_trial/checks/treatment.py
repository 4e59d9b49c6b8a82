"""Treatment (protocol: Treatment): infusion count, release, culture and timing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, at, check

from .models import Params, Participant, Treatment
from .terms import (
    Infusion,
    day_word,
    days,
    first_infusion,
    infusions,
    month_name,
    sample_date,
    samples,
)

# "Infusion number 2" (NK-TRT-05, NK-TRT-06) is the second infusion, the re-treatment the
# protocol allows when uNK function has not improved; it is an ordinal, not a limit.
SECOND = 2


@check(
    "NK-TRT-01",
    kind="deviation",
    severity="critical",
    title="More infusions than the protocol allows",
)
def too_many_infusions(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    allowed = params.treatment.max_infusions
    given = infusions(p)
    for infusion in given:
        if infusion.number > allowed:
            yield at(
                infusion.entry,
                "inf_date",
                f"Infusion number {infusion.number} (treatment {infusion.entry.instance}), on "
                f"day {days(infusion.date, given[0].date)} after the first; the protocol "
                f"allows at most {allowed} infusions.",
            )


@check(
    "NK-TRT-02",
    kind="deviation",
    severity="critical",
    title="Product infused without release",
)
def infused_without_release(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for infusion in infusions(p):
        t = infusion.entry
        if t.cp_released is not True:
            why = (
                "the product is recorded as not released"
                if t.cp_released is False
                else "the product's release is not recorded"
            )
        elif t.cp_release_date is None:
            why = "the release date is blank"
        elif t.cp_release_date > infusion.date:
            late = day_word(days(t.cp_release_date, infusion.date))
            why = f"the product was released {late} after the infusion"
        else:
            continue
        yield at(
            t,
            "cp_released",
            f"Infusion {infusion.number} (treatment {t.instance}) was given, but {why}.",
            t.evidence("cp_released", "cp_release_date", "inf_date"),
        )


# The release criteria's fields, in the protocol's order (NK-TRT-03 attaches to the first miss).
RELEASE_FIELDS = ("cp_viability_pct", "cp_dnk_pct", "cp_sterility", "cp_mycoplasma", "cp_endotoxin")


def _release_misses(t: Treatment, params: Params) -> list[tuple[str, str]]:
    """(field, what is wrong) for each release criterion the product misses, in the
    protocol's order: viability, phenotype, sterility, mycoplasma, endotoxin."""
    spec = params.release
    negative_sterility = params.codes.cp_sterility.negative
    negative_mycoplasma = params.codes.cp_mycoplasma.negative
    misses: list[tuple[str, str]] = []
    viability = t.cp_viability_pct
    if viability is None or viability < spec.viability_min:
        misses.append(
            ("cp_viability_pct", f"viability {_pct(viability)} (needs ≥ {spec.viability_min:g} %)")
        )
    phenotype = t.cp_dnk_pct
    if phenotype is None or phenotype < spec.phenotype_min:
        misses.append(
            ("cp_dnk_pct", f"dNK phenotype {_pct(phenotype)} (needs ≥ {spec.phenotype_min:g} %)")
        )
    for field, label, negative in (
        ("cp_sterility", "sterility", negative_sterility),
        ("cp_mycoplasma", "mycoplasma", negative_mycoplasma),
    ):
        code = getattr(t, field)
        if code != negative:
            misses.append(
                (
                    field,
                    f"{label} {params.label(field, code)} (needs {params.label(field, negative)})",
                )
            )
    endotoxin = t.cp_endotoxin
    if endotoxin is None or endotoxin >= spec.endotoxin_below:
        shown = "blank" if endotoxin is None else f"{endotoxin:g} EU/mL"
        misses.append(
            ("cp_endotoxin", f"endotoxin {shown} (needs < {spec.endotoxin_below:g} EU/mL)")
        )
    return misses


def _pct(value: float | None) -> str:
    return "blank" if value is None else f"{value:g} %"


@check(
    "NK-TRT-03",
    kind="deviation",
    severity="critical",
    title="Product infused outside the release specification",
)
def outside_release_spec(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for infusion in infusions(p):
        t = infusion.entry
        misses = _release_misses(t, params)
        if misses:
            yield at(
                t,
                misses[0][0],
                f"Infusion {infusion.number} (treatment {t.instance}) used a product outside "
                "the release specification: " + "; ".join(m for _, m in misses) + ".",
                t.evidence(*RELEASE_FIELDS),
            )


@check(
    "NK-TRT-04",
    kind="deviation",
    severity="major",
    title="Infusion outside the culture period after blood collection",
)
def culture_period(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    low, high = params.treatment.culture_min_days, params.treatment.culture_max_days
    for infusion in infusions(p):
        t = infusion.entry
        if t.pb_date is None:
            continue
        elapsed = days(infusion.date, t.pb_date)
        if not low <= elapsed <= high:
            yield at(
                t,
                "inf_date",
                f"Infusion {infusion.number} (treatment {t.instance}) was given {elapsed} days "
                f"after blood collection; the protocol requires {low}–{high} days.",
                t.evidence("pb_date", "inf_date"),
            )


def _second(p: Participant) -> tuple[Infusion, Infusion] | None:
    given = infusions(p)
    return (given[0], given[SECOND - 1]) if len(given) >= SECOND else None


@check(
    "NK-TRT-05",
    kind="deviation",
    severity="major",
    title="Second infusion without a preceding abnormal follow-up result",
)
def second_without_abnormal(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    pair = _second(p)
    if pair is None:
        return
    second = pair[1]
    abnormal = params.codes.mba_unk_status.abnormal
    before = [s for s in samples(p) if sample_date(s) < second.date]
    latest = before[-1] if before else None
    if latest is None:
        found = "there is no follow-up sample before it"
        evidence = second.entry.evidence("inf_date")
    elif latest.mba_unk_status != abnormal:
        status = params.label("mba_unk_status", latest.mba_unk_status)
        found = (
            f"the latest follow-up sample before it ({month_name(latest)}, "
            f"{day_word(days(second.date, sample_date(latest)))} earlier) shows uNK status {status}"
        )
        evidence = second.entry.evidence("inf_date") | latest.evidence("mba_date", "mba_unk_status")
    else:
        return
    yield at(
        second.entry,
        "inf_date",
        f"Infusion {SECOND} (treatment {second.entry.instance}) was given, but {found}; "
        f"re-treatment requires {params.label('mba_unk_status', abnormal)} uNK function.",
        evidence,
    )


@check(
    "NK-TRT-06",
    kind="deviation",
    severity="major",
    title="Second infusion too long after the first",
)
def second_too_late(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    pair = _second(p)
    if pair is None:
        return
    first, second = pair
    limit = params.treatment.second_infusion_max_days
    elapsed = days(second.date, first.date)
    if elapsed > limit:
        yield at(
            second.entry,
            "inf_date",
            f"Infusion {SECOND} (treatment {second.entry.instance}) was given on day {elapsed} "
            f"after the first; the protocol allows up to day {limit}.",
            first.entry.evidence("inf_date") | second.entry.evidence("inf_date"),
        )


@check(
    "NK-TRT-07",
    kind="deviation",
    severity="major",
    title="First infusion too long after screening",
)
def first_too_late(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    first = first_infusion(p)
    screening = p.screening
    if first is None or screening is None or screening.mba_date is None:
        return
    screened = screening.mba_date
    limit = params.treatment.screening_to_first_infusion_max_days
    elapsed = days(first.date, screened)
    if elapsed > limit:
        yield at(
            first.entry,
            "inf_date",
            f"The first infusion was given {elapsed} days after the screening menstrual "
            f"blood analysis; the protocol allows at most {limit} days.",
            first.entry.evidence("inf_date") | screening.evidence("mba_date"),
        )


# The treatment chain, in the order the dates must follow (NK-TRT-08).
CHAIN = (
    ("pb_date", "blood collection"),
    ("cp_culture_start", "culture start"),
    ("cp_harvest_date", "harvest"),
    ("inf_date", "infusion"),
)


@check(
    "NK-TRT-08",
    kind="query",
    severity="major",
    title="Treatment dates out of order",
)
def dates_out_of_order(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    for t in p.treatments:
        latest: tuple[str, date] | None = None  # (label, date) of the latest earlier date
        for field, label in CHAIN:
            value = getattr(t, field)
            if value is None:
                continue
            if latest is not None and value < latest[1]:
                yield at(
                    t,
                    field,
                    f"Treatment {t.instance}: the {label} date is "
                    f"{day_word(days(latest[1], value))} before the {latest[0]} date; the "
                    "dates must run blood collection, culture start, harvest, infusion.",
                    t.evidence(*(f for f, _ in CHAIN)),
                )
                break
            if latest is None or value > latest[1]:
                latest = (label, value)
