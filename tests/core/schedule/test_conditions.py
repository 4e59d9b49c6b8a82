"""``@condition`` (worker/core/schedule/conditions.py): a Python reason a visit is not
expected, for what the data cannot say; only declared conditions may be named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.toy_schedule import SCHEDULE, dosed, on, ruleset_with, statuses
from worker.errors import MappingError


def test_a_python_condition_says_what_the_data_cannot(tmp_path: Path) -> None:
    schedule = SCHEDULE + textwrap.dedent(
        """
        [[not_expected]]
        reason = "site closed"
        condition = "site_closed"
        """
    )
    checks = textwrap.dedent(
        """
        from datetime import date
        from worker.core.rules import condition

        @condition("site_closed")
        def site_closed(p, window_start, window_end):
            return window_start <= date(2026, 3, 1) <= window_end
        """
    )
    rules = ruleset_with(tmp_path, schedule, checks=checks)
    assert statuses(rules, *dosed(), as_of=on(100)) == {
        "month 1": "not expected: site closed",  # days 27-37 hold 1 March (day 28)
        "month 2": "missed",
    }


def test_a_condition_the_checks_do_not_declare_is_refused(tmp_path: Path) -> None:
    schedule = SCHEDULE + '\n[[not_expected]]\nreason = "x"\ncondition = "nowhere"\n'
    with pytest.raises(MappingError, match="condition 'nowhere', but no @condition"):
        ruleset_with(tmp_path, schedule)
