"""Pregnancy, each ``pregnancy`` instance (protocol: Pregnancy).

NK-PRG-02 is declared in ``logic_rules.toml`` as REDCap logic, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from worker.core.rules import Hit, at, check

from .models import Params, Participant
from .terms import days, first_infusion, is_improved, sample_date, samples


@check(
    "NK-PRG-01",
    kind="deviation",
    severity="major",
    title="Pregnancy attempt without improved uNK function",
)
def attempt_without_improvement(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    first = first_infusion(p)
    if first is None:
        return
    improved = [s for s in samples(p) if is_improved(s, params)]
    for pg in p.pregnancies:
        start = pg.pg_attempt_start
        if start is None or any(sample_date(s) <= start for s in improved):
            continue
        yield at(
            pg,
            "pg_attempt_start",
            f"Pregnancy attempt {pg.instance} started on day {days(start, first.date)} after "
            "the first infusion, with no improved (Normal) follow-up sample on or before "
            "that day.",
            pg.evidence("pg_attempt_start")
            | {k: v for s in improved for k, v in s.evidence("mba_date").items()},
        )


@check(
    "NK-PRG-03",
    kind="query",
    severity="major",
    title="Ongoing pregnancy not supported by its criteria",
)
def ongoing_unsupported(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    minimum = params.pregnancy.ongoing_min_days
    for pg in p.pregnancies:
        if pg.pg_ongoing is not True:
            continue
        problems: list[str] = []
        if pg.pg_clinical is not True:
            problems.append("clinical pregnancy is not Yes")
        if pg.pg_us12_cardiac is not True:
            problems.append("cardiac activity at the 12-week ultrasound is not Yes")
        if pg.pg_us12_size_ok is not True:
            problems.append("size matching gestational age is not Yes")
        if pg.pg_us12_date is None or pg.pg_lmp_date is None:
            problems.append("the 12-week ultrasound date or the LMP date is blank")
        elif (elapsed := days(pg.pg_us12_date, pg.pg_lmp_date)) < minimum:
            problems.append(
                f"the 12-week ultrasound was {elapsed} days after the LMP "
                f"(needs at least {minimum})"
            )
        if problems:
            yield at(
                pg,
                "pg_ongoing",
                f"Pregnancy {pg.instance} is recorded as ongoing, but " + "; ".join(problems) + ".",
                pg.evidence(
                    "pg_ongoing",
                    "pg_clinical",
                    "pg_us12_cardiac",
                    "pg_us12_size_ok",
                    "pg_us12_date",
                    "pg_lmp_date",
                ),
            )


def _weeks(total_days: int) -> str:
    return f"{total_days // 7}+{total_days % 7} weeks"


@check(
    "NK-PRG-04",
    kind="query",
    severity="major",
    title="Live birth not supported by its criteria",
)
def live_birth_unsupported(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    minimum = params.pregnancy.live_birth_min_days
    for pg in p.pregnancies:
        if pg.pg_live_birth is not True:
            continue
        problems: list[str] = []
        weeks, extra = pg.pg_delivery_ga_wk, pg.pg_delivery_ga_d
        if weeks is None or extra is None:
            problems.append("the gestational age at delivery is incomplete")
        elif (ga := 7 * weeks + extra) < minimum:
            problems.append(
                f"gestational age at delivery is {_weeks(ga)} (needs at least {_weeks(minimum)})"
            )
        if pg.pg_signs_of_life is not True:
            problems.append("signs of life is not Yes")
        if pg.pg_neonates is None or pg.pg_neonates < 1:
            problems.append("the number of neonates is blank or below 1")
        if problems:
            yield at(
                pg,
                "pg_live_birth",
                f"Pregnancy {pg.instance} is recorded as a live birth, but "
                + "; ".join(problems)
                + ".",
                pg.evidence(
                    "pg_live_birth",
                    "pg_delivery_ga_wk",
                    "pg_delivery_ga_d",
                    "pg_signs_of_life",
                    "pg_neonates",
                ),
            )


@check(
    "NK-PRG-05",
    kind="query",
    severity="minor",
    title="Gestational age disagrees with the pregnancy's dates",
)
def gestational_age_vs_dates(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    tolerance = params.pregnancy.ga_tolerance_days
    for pg in p.pregnancies:
        ended, lmp = pg.pg_end_date, pg.pg_lmp_date
        weeks, extra_days = pg.pg_delivery_ga_wk, pg.pg_delivery_ga_d
        if ended is None or lmp is None or weeks is None or extra_days is None:
            continue
        by_dates = days(ended, lmp)
        recorded = 7 * weeks + extra_days
        if abs(by_dates - recorded) > tolerance:
            yield at(
                pg,
                "pg_delivery_ga_wk",
                f"Pregnancy {pg.instance}: gestational age is recorded as {_weeks(recorded)} "
                f"({recorded} days), but the pregnancy ended {by_dates} days after the LMP; "
                f"they differ by {abs(by_dates - recorded)} days (tolerance {tolerance}).",
                pg.evidence("pg_end_date", "pg_lmp_date", "pg_delivery_ga_wk", "pg_delivery_ga_d"),
            )


@check(
    "NK-PRG-06",
    kind="query",
    severity="major",
    title="Still pregnant implausibly long after the LMP",
)
def still_pregnant_too_long(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
    limit = params.pregnancy.max_days_pregnant
    still = params.codes.pg_outcome.still_pregnant
    for pg in p.pregnancies:
        if pg.pg_outcome != still or pg.pg_lmp_date is None:
            continue
        elapsed = days(as_of, pg.pg_lmp_date)
        if elapsed > limit:
            yield at(
                pg,
                "pg_outcome",
                f"Pregnancy {pg.instance}'s outcome is still "
                f"'{params.label('pg_outcome', still)}' {elapsed} days after the LMP (more "
                f"than {limit}); please update the outcome.",
                pg.evidence("pg_outcome", "pg_lmp_date"),
            )
