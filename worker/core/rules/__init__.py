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

Declaring what the checks read (in ``rules/<study>/checks/models.py``, imported by the
checks package's ``__init__``): the participant, one attribute per mapping part, and the
parameters, one attribute per table of ``params.toml`` (checked against both at load)::

    from worker.core.rules import ParamsTable, PartEntry, ParticipantBase, StudyParams

    class Visit(PartEntry):                          # the fields the checks read
        weight_kg: float | None

    class Participant(ParticipantBase):
        visits: list[Visit]                          # a part of the study's mapping

    class Limits(ParamsTable):
        weight_max: float

    class Params(StudyParams):
        limits: Limits

Writing a check (in ``rules/<study>/checks/...``), typed, so mypy checks it::

    from worker.core.rules import at, check
    from .models import Participant, Params

    @check("XX-01", kind="query", severity="minor", title="One line")
    def my_check(p: Participant, as_of: date, params: Params) -> Iterator[Hit]:
        for visit in p.visits:
            if visit.weight_kg is not None and visit.weight_kg > params.limits.weight_max:
                yield at(visit, "weight_kg", "What was found, in days, no dates or free text.")
"""

from worker.core.mapping import PartEntry, Participant
from worker.core.rules.declare import CheckInfo, Hit, at, at_part, check, check_all
from worker.core.rules.derived import derived
from worker.core.rules.loader import load_ruleset
from worker.core.rules.params import Params, ParamsTable, StudyParams
from worker.core.rules.ruleset import Ruleset, RulesRun
from worker.core.schedule.conditions import condition
from worker.core.visits import VisitRow, VisitStatus

# What a study's own ``Participant`` class derives from (``Participant`` here is the same
# class: the type of any study's participant, as the framework sees it).
ParticipantBase = Participant

__all__ = [
    "CheckInfo",
    "Hit",
    "Params",
    "ParamsTable",
    "PartEntry",
    "Participant",
    "ParticipantBase",
    "RulesRun",
    "Ruleset",
    "StudyParams",
    "VisitRow",
    "VisitStatus",
    "at",
    "at_part",
    "check",
    "check_all",
    "condition",
    "derived",
    "load_ruleset",
]
