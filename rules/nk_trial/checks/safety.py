"""Safety, each ``adverse_event`` instance (protocol: Safety).

NK-SAE-03 is declared in ``logic_rules.toml`` as REDCap logic, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, at, check

from .models import Params, Participant
from .terms import day_word, days


@check(
    "NK-SAE-01",
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
            if elapsed <= limit:
                continue
            found = f"was reported {day_word(elapsed)} after the site became aware of it"
        else:
            elapsed = days(as_of, aware)
            if elapsed <= limit:
                continue
            found = f"is not reported {day_word(elapsed)} after the site became aware of it"
        yield at(
            ae,
            "ae_report_date",
            f"Serious adverse event {ae.instance} {found}; "
            f"it must be reported within {day_word(limit)}.",
            ae.evidence("ae_serious", "ae_aware_date", "ae_report_date"),
        )


@check(
    "NK-SAE-02",
    kind="query",
    severity="major",
    title="Adverse event onset before informed consent",
)
def onset_before_consent(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    screening = p.screening
    if screening is None or screening.icf_date is None:
        return
    signed_on = screening.icf_date
    for ae in p.adverse_events:
        if ae.ae_onset is not None and ae.ae_onset < signed_on:
            yield at(
                ae,
                "ae_onset",
                f"Adverse event {ae.instance} began {day_word(days(signed_on, ae.ae_onset))} "
                "before informed consent was signed.",
                ae.evidence("ae_onset") | screening.evidence("icf_date"),
            )


@check(
    "NK-SAE-04",
    kind="query",
    severity="major",
    title="Grade 5 and Fatal outcome disagree",
)
def death_grade_vs_outcome(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    death = params.codes.ae_grade.death
    fatal = params.codes.ae_outcome.fatal
    for ae in p.adverse_events:
        graded_death = ae.ae_grade == death
        fatal_outcome = ae.ae_outcome == fatal
        if graded_death == fatal_outcome:
            continue
        grade = params.label("ae_grade", death)
        outcome = params.label("ae_outcome", fatal)
        found = (
            f"is {grade} but its outcome is not {outcome}"
            if graded_death
            else f"has outcome {outcome} but is not {grade}"
        )
        yield at(
            ae,
            "ae_outcome",
            f"Adverse event {ae.instance} {found}.",
            ae.evidence("ae_grade", "ae_outcome"),
        )
