"""Safety, each ``adverse_event`` instance (protocol: Safety)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, Params, Participant, at, check

from .terms import day_word, days


@check(
    "BP-SAE-01",
    kind="deviation",
    severity="major",
    title="Serious adverse event reported late",
)
def sae_reported_late(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    limit = params.safety.sae_report_max_days
    for ae in p.adverse_events:
        aware = ae.ae_aware_date
        if ae.ae_serious is not True or aware is None:
            continue
        if ae.ae_report_date is not None:
            elapsed = days(ae.ae_report_date, aware)
            found = f"was reported {day_word(elapsed)} after the site became aware of it"
        else:
            elapsed = days(as_of, aware)
            found = f"is not reported {day_word(elapsed)} after the site became aware of it"
        if elapsed <= limit:
            continue
        yield at(
            ae,
            "ae_report_date",
            f"Serious adverse event {ae.instance} {found}; "
            f"it must be reported within {day_word(limit)}.",
            ae.evidence("ae_serious", "ae_aware_date", "ae_report_date"),
        )
