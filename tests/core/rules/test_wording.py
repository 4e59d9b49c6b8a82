"""A study's words (``rules/<study>/study.toml``, table ``[wording]``): loaded with the
ruleset, each key optional with a generic default, every mistake one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import REPO
from tests.support.toy_study import load, rules_folder
from worker.core.rules.wording import GENERIC, STUDY_FILE, Wording, load_wording
from worker.errors import MappingError


def test_without_a_study_file_the_worker_speaks_generically(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    assert rules.wording == GENERIC
    assert rules.schedule_anchor == "day 0"
    assert GENERIC.participants(1) == "1 participant with a visit schedule"
    assert GENERIC.participants(3) == "3 participants with a visit schedule"


def test_the_study_file_gives_the_words_it_names_and_the_rest_stay_generic(
    tmp_path: Path,
) -> None:
    folder = rules_folder(tmp_path)
    (folder / STUDY_FILE).write_text(
        '[wording]\nscheduled_participant = "randomised patient"\n'
        'scheduled_participants = "randomised patients"\nschedule_anchor = "randomisation"\n',
        encoding="utf-8",
    )
    rules = load(folder)
    assert rules.schedule_anchor == "randomisation"
    assert rules.wording.participants(2) == "2 randomised patients"
    assert rules.wording.visits == GENERIC.visits


def test_the_dnk_study_keeps_its_own_words() -> None:
    words = load_wording(REPO / "rules" / "nk_trial")
    assert words == Wording(
        scheduled_participant="treated participant",
        scheduled_participants="treated participants",
        schedule_anchor="the first infusion",
        visits="follow-up visits",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[wording]\nanchor = "x"\n', "wording.anchor: unknown key"),
        ('[wording]\nschedule_anchor = " "\n', "wording.schedule_anchor: String should have"),
        ("[wording\n", "is not valid TOML"),
        ('[words]\nvisits = "x"\n', "unknown table(s): words"),
        ('wording = "x"\n', "wording must be a table"),
    ],
)
def test_a_mistake_in_the_study_file_is_one_line_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    folder = rules_folder(tmp_path)
    (folder / STUDY_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load(folder)
    assert message in str(caught.value)
    assert str(folder / STUDY_FILE) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_anchor_left_in_the_checks_is_refused_not_silently_dropped(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, checks='SCHEDULE_ANCHOR = "the first dose"\n', logic=None)
    with pytest.raises(MappingError, match=r"SCHEDULE_ANCHOR.*schedule_anchor.*study\.toml"):
        load(folder)
