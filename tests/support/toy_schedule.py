"""A visit schedule on the made-up project of tests/support/toy_study.py, not the dNK
trial: the engine is generic. Day 0 is the earliest dose date; months 1 and 2 are the part
``months``."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path

from tests.support.toy_study import (
    BUILDER,
    baseline,
    check_all_records,
    dose,
    load,
    record,
    rules_folder,
)
from worker.core.rules import Ruleset

DAY0 = date(2026, 2, 1)  # the first dose


SCHEDULE = """
[anchor]
part = "doses"
date = "visit_date"
pick = "earliest"

[visits]
part = "months"
date = "visit_date"
before = "3 days"
after = "1 week"

[[visit]]
name = "month 1"
event = "m1_arm_1"
target = 30

[[visit]]
name = "month 2"
event = "m2_arm_1"
target = "8 weeks"

[[not_expected]]
reason = "on hold"
part = "log"
from = "ae_start"
until = "ae_end"

[checks.out_of_window]
id = "T-WIN"
kind = "deviation"
severity = "major"
title = "Visit outside its window"
message = "{visit} on day {sample_day}; window days {start_day}-{end_day}."

[checks.missed]
id = "T-MISSED"
kind = "deviation"
severity = "minor"
title = "Visit missed"
message = "No {visit}: window days {start_day}-{end_day} closed {days_closed} days ago."
"""


def ruleset_with(tmp_path: Path, schedule: str = SCHEDULE, checks: str | None = None) -> Ruleset:
    folder = rules_folder(tmp_path, checks=checks, logic=None)
    (folder / "schedule.toml").write_text(textwrap.dedent(schedule), encoding="utf-8")
    return load(folder)


def iso(day: int) -> str:
    return (DAY0 + timedelta(days=day)).isoformat()


def on(day: int) -> date:
    return DAY0 + timedelta(days=day)


def dosed(*rows: dict) -> tuple[dict, ...]:
    """A participant dosed on day 0 and again on day 10 (day 0 is the earliest dose)."""
    return (
        baseline(),
        dose(2, visit_date=iso(10)),
        dose(1, visit_date=iso(0)),
        *rows,
    )


def statuses(rules: Ruleset, *rows: dict, as_of: date) -> dict[str, str]:
    participant = BUILDER.build(record("1", *rows))
    return {row.visit: row.status_text for row in rules.schedule(participant, as_of)}


def missed_on(rules: Ruleset, as_of: date) -> list[str]:
    _, found = check_all_records(rules, record("1", *dosed()), as_of=as_of)
    return sorted(f.event or "" for f in found if f.rule == "T-MISSED")
