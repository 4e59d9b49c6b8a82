"""Randomisation (protocol: Randomisation).

BP-RND-02 (randomised although not eligible) is declared in ``logic_rules.toml`` as REDCap
logic, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, Params, Participant, at, check

from .terms import arm_name, arm_of, day_word, days


@check(
    "BP-RND-01",
    kind="deviation",
    severity="critical",
    title="Randomised before informed consent",
)
def randomised_before_consent(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    rand = p.randomisation
    consented = None if p.screening is None else p.screening.enr_icf_date
    if rand is None or rand.rand_date is None or consented is None:
        return
    if rand.rand_date < consented:
        yield at(
            rand,
            "rand_date",
            f"The participant was randomised {day_word(days(consented, rand.rand_date))} "
            "before signing informed consent.",
            rand.evidence("rand_date") | p.screening.evidence("enr_icf_date"),
        )


@check(
    "BP-RND-03",
    kind="deviation",
    severity="critical",
    title="Allocated treatment does not match the arm",
)
def allocation_vs_arm(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    rand = p.randomisation
    arm = arm_of(p)
    if rand is None or rand.rand_group is None or arm is None:
        return
    name = arm_name(arm, params)
    if name is None:
        return  # an arm the protocol does not name: validate() reports it at load
    expected = params.codes.rand_group[name]
    if rand.rand_group != expected:
        yield at(
            rand,
            "rand_group",
            f"The record is in arm {arm} ({name}), but the allocated treatment is "
            f"{params.label('rand_group', rand.rand_group)}; it should be "
            f"{params.label('rand_group', expected)}.",
            rand.evidence("rand_group", "rand_date"),
        )
