"""Laboratory (protocol: Laboratory, lab reference limits)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, at, check

from .models import Params, Participant


@check(
    "NK-LAB-01",
    kind="query",
    severity="major",
    title="uNK status disagrees with the lab reference limits",
)
def status_disagrees_with_markers(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    limits = params.laboratory
    codes = params.codes.mba_unk_status
    analyses = ([p.screening] if p.screening is not None else []) + list(p.follow_up)
    for mba in analyses:
        cd56, cd49a, status = mba.mba_cd56bright_pct, mba.mba_cd49a_pct, mba.mba_unk_status
        if cd56 is None or cd49a is None or status is None:
            continue
        normal = cd56 >= limits.cd56bright_min and cd49a >= limits.cd49a_min
        expected = codes.normal if normal else codes.abnormal
        if status != expected:
            yield at(
                mba,
                "mba_unk_status",
                f"uNK status is {params.label('mba_unk_status', status)}, but CD56bright "
                f"{cd56:g} % (reference ≥ {limits.cd56bright_min:g}) and CD49a {cd49a:g} % "
                f"(reference ≥ {limits.cd49a_min:g}) mean "
                f"{params.label('mba_unk_status', expected)}.",
                mba.evidence("mba_cd56bright_pct", "mba_cd49a_pct", "mba_unk_status"),
            )
