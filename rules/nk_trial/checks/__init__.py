"""The dNK trial's protocol checks, as ``../SPEC.md`` specifies them.

One module per section of ``SPEC.md`` §4 ("protocol: <section>" in docstrings and in
``params.toml`` names a section of ``SPEC.md``). Every number and code comes from
``../params.toml``; the checks that fit REDCap logic (NK-PRG-02, NK-SAE-03) live in
``../logic_rules.toml`` instead, so each check has one source of truth.

The worker loads this package by file path (see ``worker/core/rules/loader.py``) and
collects every function declared with ``@check``/``@check_all`` in these modules; it also
uses :func:`progress` (the study progress of summaries and reports) and :func:`validate` (at
load). ``Participant`` and ``Params`` (``models.py``) are what the checks read, typed; the
worker builds participants of that class and reads ``../params.toml`` into that one, both
checked against the project at load. The follow-up schedule (the ``visits`` command, the
report's timelines, the summaries' due visits, NK-WIN-01 and NK-WIN-02) is data:
``../schedule.toml``.
"""

from __future__ import annotations

from worker.core.mapping import MappingSpec
from worker.core.schema import ProjectSchema

from . import (
    eligibility,
    end_of_study,
    follow_up,
    laboratory,
    outcomes,
    pregnancy,
    safety,
    treatment,
)
from .models import Params, Participant
from .outcomes import progress

__all__ = [
    "Params",
    "Participant",
    "eligibility",
    "end_of_study",
    "follow_up",
    "laboratory",
    "outcomes",
    "pregnancy",
    "progress",
    "safety",
    "treatment",
    "validate",
]


def validate(params: Params, schema: ProjectSchema, mapping: MappingSpec) -> list[str]:
    """What the checks assume of the mapping, checked once at load instead of per record.
    (Which parts there are, and their fields, ``Participant`` declares: checked by the
    worker.)"""
    return []
