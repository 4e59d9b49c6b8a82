"""Study progress for summaries and reports (protocol: Design, Randomisation, End of study).

:func:`progress` counts one participant; the worker adds the counts up over participants.
Every count is of participants.
"""

from __future__ import annotations

from datetime import date

from worker.core.rules import Params, Participant

from .terms import day0

SCREENED = "Screened"
ELIGIBLE = "Eligible at screening"
RANDOMISED_INTERVENTION = "Randomised to amlodipine (intervention)"
RANDOMISED_CONTROL = "Randomised to usual care (control)"
SAE = "With a serious adverse event"
COMPLETED = "Completed week 24"
ENDED_EARLY = "Ended the study early"


def progress(p: Participant, as_of: date, params: Params) -> dict[str, int]:
    """This participant's contribution to each count: 1 or 0 (every label, always)."""
    screening = p.screening
    randomised = day0(p) is not None
    group = None if p.randomisation is None else p.randomisation.rand_group
    eos = p.end_of_study
    ended = eos is not None and eos.eos_date is not None
    completed = ended and eos.eos_status == params.codes.eos_status.completed
    counts = {
        SCREENED: screening is not None and screening.enr_date is not None,
        ELIGIBLE: screening is not None and screening.enr_eligible is True,
        RANDOMISED_INTERVENTION: randomised and group == params.codes.rand_group.intervention,
        RANDOMISED_CONTROL: randomised and group == params.codes.rand_group.control,
        SAE: any(ae.ae_serious is True for ae in p.adverse_events),
        COMPLETED: completed,
        ENDED_EARLY: ended and not completed,
    }
    return {label: int(bool(value)) for label, value in counts.items()}
