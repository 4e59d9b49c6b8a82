"""The study-check framework: a study's ``rules/<study>/`` folder supplies the checks.

The framework is generic: it knows no study's fields, events or numbers. A rules folder
declares checks in Python (pure functions of one participant's typed model, the as-of date
and the parameters) or as REDCap logic, and keeps every protocol number in ``params.toml``.

Usage (the check pipeline)::

    ruleset = load_ruleset(rules_dir, schema=schema, mapping=mapping)
    run = ruleset.start(as_of)
    for participant, record in ...:
        findings += run.check(participant, record)
    findings += run.finish()          # cross-participant checks
    run.check_errors                  # checks that raised, per participant

Writing a check (in ``rules/<study>/checks/...``)::

    from worker.core.rules import at, check

    @check("XX-01", kind="query", severity="minor", title="One line")
    def my_check(p, as_of, params):
        for visit in p.visits:                       # a part of the study's mapping
            if visit.weight_kg is not None and visit.weight_kg > params.limits.weight_max:
                yield at(visit, "weight_kg", "What was found, in days, no dates or free text.")
"""

from worker.core.rules.declare import CheckInfo, Hit, Participant, at, at_part, check, check_all
from worker.core.rules.loader import load_ruleset
from worker.core.rules.params import Params
from worker.core.rules.ruleset import Ruleset, RulesRun
from worker.core.schedule.conditions import condition
from worker.core.visits import VisitRow, VisitStatus

__all__ = [
    "CheckInfo",
    "Hit",
    "Params",
    "Participant",
    "RulesRun",
    "Ruleset",
    "VisitRow",
    "VisitStatus",
    "at",
    "at_part",
    "check",
    "check_all",
    "condition",
    "load_ruleset",
]
