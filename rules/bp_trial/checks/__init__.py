"""The BP-LOWER trial's protocol checks (``../README.md``, section "Checks").

One module per protocol section. Every number and code comes from ``../params.toml``; the
checks that fit REDCap logic (BP-RND-02, BP-BAS-01, BP-VS-01) live in ``../logic_rules.toml``
instead, so each check has one source of truth.

The worker loads this package by file path and collects every ``@check`` in these modules;
it also uses :func:`progress` and :func:`validate` (at load). The visit schedule (the
``visits`` command, the report's timelines, the summaries' due visits, BP-WIN-01 and
BP-WIN-02) is data: ``../schedule.toml``.
"""

from __future__ import annotations

from typing import Any

from worker.core.mapping import MappingSpec
from worker.core.schema import ProjectSchema

from . import outcomes, randomisation, safety
from .outcomes import progress

__all__ = [
    "outcomes",
    "progress",
    "randomisation",
    "safety",
    "validate",
]

# The mapping parts the checks read (mappings/bp_trial.toml).
PARTS = ("screening", "baseline", "randomisation", "visits", "adverse_events", "end_of_study")


def validate(params: Any, schema: ProjectSchema, mapping: MappingSpec) -> list[str]:
    """What the checks assume of the mapping and the design, checked once at load."""
    problems = [
        f"the mapping has no part '{name}', which the BP-LOWER checks read"
        for name in PARTS
        if name not in mapping.parts
    ]
    for name in params.arms:
        if name not in params.codes.rand_group:
            problems.append(f"params arms.{name} has no code in [codes.rand_group]")
    return problems
