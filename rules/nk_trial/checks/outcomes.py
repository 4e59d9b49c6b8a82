"""Study progress for summaries and reports (protocol: The study, steps 1-5 and outcomes).

:func:`progress` counts one participant; the worker adds the counts up over participants
(and per data access group), so it keeps no participant in memory. Every count is of
participants, and every label says what is counted, in the protocol's own terms.
"""

from __future__ import annotations

from datetime import date

from .models import Params, Participant
from .terms import infusions, is_improved, samples

# The labels, in the order summaries show them: the protocol's steps, then its outcomes.
SCREENED = "Screened (menstrual blood analysis)"
ABNORMAL = "Abnormal uNK function at screening"
CONSENTED = "Consented"
TREATED = "Treated (first infusion given)"
SECOND = "Second infusion given"
IMPROVED = "Improved uNK function at a follow-up sample"
HCG = "Positive hCG"
CLINICAL = "Clinical pregnancy"
ONGOING = "Ongoing pregnancy"
LIVE_BIRTH = "Live birth"
PREECLAMPSIA = "Ongoing pregnancy with preeclampsia"
FGR = "Ongoing pregnancy with fetal growth restriction"
ENDED = "Ended the study"


def progress(p: Participant, as_of: date, params: Params) -> dict[str, int]:
    """This participant's contribution to each count: 1 or 0 (every label, always, so the
    order is the same whoever is counted first)."""
    screening = p.screening
    given = infusions(p)
    treated = bool(given)
    pregnancies = p.pregnancies

    def any_pregnancy(field: str) -> bool:
        return any(getattr(pg, field) is True for pg in pregnancies)

    counts = {
        SCREENED: screening is not None and screening.mba_date is not None,
        ABNORMAL: screening is not None
        and screening.mba_unk_status == params.codes.mba_unk_status.abnormal,
        CONSENTED: screening is not None and screening.icf_signed is True,
        TREATED: treated,
        # "2": the second infusion, an ordinal (the protocol's limit is params.treatment).
        SECOND: len(given) >= 2,
        IMPROVED: treated and any(is_improved(s, params) for s in samples(p)),
        HCG: any_pregnancy("pg_hcg_pos"),
        CLINICAL: any_pregnancy("pg_clinical"),
        ONGOING: any_pregnancy("pg_ongoing"),
        LIVE_BIRTH: any_pregnancy("pg_live_birth"),
        PREECLAMPSIA: any_pregnancy("pg_preeclampsia"),
        FGR: any_pregnancy("pg_fgr"),
        ENDED: p.end_of_study is not None and p.end_of_study.eos_date is not None,
    }
    return {label: int(bool(value)) for label, value in counts.items()}
