"""The BP-LOWER trial's protocol checks (``../README.md``, section "Checks").

One module per protocol section. Every number and code comes from ``../params.toml``; the
checks that fit REDCap logic (BP-RND-02, BP-BAS-01, BP-VS-01) live in ``../logic_rules.toml``
instead, so each check has one source of truth.

The worker loads this package by file path and collects every ``@check`` in these modules;
it also uses :func:`progress` and :func:`validate` (at load), and builds participants of
class ``Participant`` and reads ``../params.toml`` into ``Params`` (``models.py``: what the
checks read, typed; both checked against the project at load). The visit schedule (the
``visits`` command, the report's timelines, the summaries' due visits, BP-WIN-01 and
BP-WIN-02) is data: ``../schedule.toml``.
"""

from __future__ import annotations

from worker.core.mapping import MappingSpec
from worker.core.schema import ProjectSchema

from . import outcomes, randomisation, safety
from .models import Params, Participant
from .outcomes import progress

__all__ = [
    "Params",
    "Participant",
    "outcomes",
    "progress",
    "randomisation",
    "safety",
    "validate",
]


def validate(params: Params, schema: ProjectSchema, mapping: MappingSpec) -> list[str]:
    """What the checks assume of the design, checked once at load. (Which parts there are,
    and their fields, ``Participant`` declares: checked by the worker.)"""
    problems: list[str] = []
    for name in params.arms:
        if name not in params.codes.rand_group:
            problems.append(f"params arms.{name} has no code in [codes.rand_group]")
    return problems
