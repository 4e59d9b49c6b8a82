"""End of study (protocol: End of study)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, PartEntry, at, check

from .models import Params, Participant
from .terms import day_word, days


@check(
    "NK-EOS-01",
    kind="query",
    severity="minor",
    title="Study date after the end of study",
)
def dated_after_end(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    eos = p.end_of_study
    if eos is None or eos.eos_date is None:
        return
    ended = eos.eos_date
    dated: list[tuple[PartEntry, str, str]] = []
    if p.screening is not None:
        dated.append((p.screening, "mba_date", "The screening menstrual blood analysis"))
    dated += [
        (mba, "mba_date", f"The month {mba.ordinal} menstrual blood analysis")
        for mba in p.follow_up
    ]
    dated += [(t, "inf_date", f"Infusion of treatment {t.instance}") for t in p.treatments]
    for entry, field, what in dated:
        value = getattr(entry, field)
        if value is not None and value > ended:
            yield at(
                entry,
                field,
                f"{what} is dated {day_word(days(value, ended))} after the end of study.",
                entry.evidence(field) | eos.evidence("eos_date"),
            )
