"""The BP-LOWER trial's protocol checks (``../README.md``, section "Checks").

One module per protocol section. Every number and code comes from ``../params.toml``; the
checks that fit REDCap logic (BP-RND-02, BP-BAS-01, BP-VS-01) live in ``../logic_rules.toml``
instead, so each check has one source of truth.

The worker loads this package by file path and collects every ``@check`` in these modules;
it also uses :func:`schedule` (the ``visits`` command, the report's
timelines, the summaries' due visits), :func:`progress` and :func:`validate` (at load).
"""

from __future__ import annotations

import re
from typing import Any

from worker.core.mapping import MappingSpec
from worker.core.schema import ProjectSchema

from . import outcomes, randomisation, safety, visits
from .outcomes import progress
from .visits import schedule

__all__ = [
    "outcomes",
    "progress",
    "randomisation",
    "safety",
    "schedule",
    "validate",
    "visits",
]

_ARM_SUFFIX = re.compile(r"_arm_\d+$")


def visit_of(event: str) -> str:
    """The visit an event name stands for (``week_4_arm_1`` -> ``week_4``)."""
    return _ARM_SUFFIX.sub("", event)


# The mapping parts the checks read (mappings/bp_trial.toml).
PARTS = ("screening", "baseline", "randomisation", "visits", "adverse_events", "end_of_study")


def validate(params: Any, schema: ProjectSchema, mapping: MappingSpec) -> list[str]:
    """What the checks assume of the mapping and the design, checked once at load."""
    problems = [
        f"the mapping has no part '{name}', which the BP-LOWER checks read"
        for name in PARTS
        if name not in mapping.parts
    ]
    part = mapping.parts.get(visits.PART)
    if part is not None and [visit_of(str(e)) for e in part.event_names] != list(params.visits):
        problems.append(
            f"params [visits] names {', '.join(params.visits)}, but the mapping's part "
            f"'{visits.PART}' has events {', '.join(str(e) for e in part.event_names)} "
            "(the same visits, in the same order)"
        )
    for name in params.arms:
        if name not in params.codes.rand_group:
            problems.append(f"params arms.{name} has no code in [codes.rand_group]")
    return problems
