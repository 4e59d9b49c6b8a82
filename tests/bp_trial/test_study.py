"""The study as the worker loads it: the rules match the project, the mapping's visits match
params, progress counts participants."""

from __future__ import annotations

import pytest

from tests.support.bp_trial import (
    AS_OF,
    CONTROL,
    RULES,
    day,
    followed,
    mapping,
    randomised,
    ruleset,
    schema,
    screened,
)
from worker.core.rules import load_ruleset
from worker.errors import MappingError


def test_the_rules_load_with_every_check_of_the_protocol() -> None:
    ids = {c.id for c in ruleset().checks}
    assert ids == {
        "BP-RND-01",
        "BP-RND-02",
        "BP-RND-03",
        "BP-BAS-01",
        "BP-WIN-01",
        "BP-WIN-02",
        "BP-VS-01",
        "BP-SAE-01",
    }
    assert ruleset().wording.schedule_anchor == "randomisation"


def test_a_scheduled_visit_the_mapping_lacks_is_refused_at_load() -> None:
    part = mapping().parts["visits"]
    fewer = part.model_copy(update={"events": ["week_12", "week_24"]})
    wrong = mapping().model_copy(update={"parts": {**mapping().parts, "visits": fewer}})
    with pytest.raises(
        MappingError, match=r"schedule\.toml visit 'week 4': event 'week_4' is not an event of part"
    ):
        load_ruleset(RULES, schema=schema(), mapping=wrong)


def test_the_schedule_checks_are_declared_in_the_schedule() -> None:
    declared = {c.id: (c.source, c.kind.value, c.severity.value) for c in ruleset().checks}
    assert declared["BP-WIN-01"] == ("schedule", "deviation", "major")
    assert declared["BP-WIN-02"] == ("schedule", "deviation", "major")


def progress(*recs) -> dict[str, int]:
    rs = ruleset()
    total: dict[str, int] = {}
    for rec in recs:
        for label, n in rs.progress_fn(rec.participant(), AS_OF, rs.params).items():
            total[label] = total.get(label, 0) + n
    return total


def test_progress_counts_participants_by_step_and_group() -> None:
    completed = followed("1").eos(eos_date=day(170), eos_status=1)
    withdrew = randomised("2", CONTROL).eos(eos_date=day(30), eos_status=2)
    sae = randomised("3", CONTROL).ae(1, ae_term="Syncope", ae_serious=1, ae_onset=day(3))
    failure = screened("4", eligible=0)
    assert progress(completed, withdrew, sae, failure) == {
        "Screened": 4,
        "Eligible at screening": 3,
        "Randomised to amlodipine (intervention)": 1,
        "Randomised to usual care (control)": 2,
        "With a serious adverse event": 1,
        "Completed week 24": 1,
        "Ended the study early": 1,
    }
