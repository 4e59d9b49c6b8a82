"""Telling the data manager that scheduled syncs keep failing (worker/notify/failures.py):
the pure decisions (one alert after N failed runs in a row, one message at the recovery), the
streak kept across restarts, and what the messages say. Through the scheduler, with a real
SMTP relay: tests/test_scheduler.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from structlog.testing import capture_logs

from worker.config import EmailSettings
from worker.notify.failures import (
    Streak,
    count_scheduled_run,
    failing_notice,
    load_streak,
    next_streak,
    recovered_notice,
    save_streak,
)
from worker.state import StateDir

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def run(streak: Streak, ok: bool, at: datetime = T0, alert_after: int = 3, error: str = "down"):
    return next_streak(streak, ok=ok, error=error, now=at, alert_after=alert_after)


def test_the_alert_goes_out_once_at_the_nth_failed_run_in_a_row() -> None:
    streak, sends = Streak(), []
    for hour in range(5):
        streak, send = run(streak, ok=False, at=T0 + timedelta(hours=hour))
        sends.append(send)
    assert sends == [None, None, "failing", None, None]
    assert (streak.failed_runs, streak.since, streak.alerted) == (5, T0, True)


def test_a_success_ends_the_streak_and_announces_the_recovery_only_after_an_alert() -> None:
    alerted = Streak(failed_runs=3, since=T0, last_error="down", alerted=True)
    assert run(alerted, ok=True) == (Streak(), "recovered")
    quiet = Streak(failed_runs=2, since=T0, last_error="down")
    assert run(quiet, ok=True) == (Streak(), None)


def test_with_alerts_off_nothing_is_ever_sent() -> None:
    streak = Streak()
    for _ in range(10):
        streak, send = run(streak, ok=False, alert_after=0)
        assert send is None


def test_the_last_error_is_kept_as_one_bounded_line() -> None:
    streak, _ = run(Streak(), ok=False, error="REDCap\nunreachable " + "x" * 1000)
    assert "\n" not in streak.last_error
    assert len(streak.last_error) <= 300
    assert streak.last_error.startswith("REDCap unreachable")


def test_the_streak_survives_a_restart_and_a_damaged_file_starts_afresh(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    assert load_streak(state) == Streak()
    kept = Streak(failed_runs=4, since=T0, last_error="HTTP 503", alerted=True)
    save_streak(state, kept)
    assert load_streak(StateDir(tmp_path)) == kept
    (tmp_path / Streak.FILE).write_text('{"failed_runs": "many"}', encoding="utf-8")
    assert load_streak(state) == Streak()


def test_the_alert_names_the_study_the_count_the_start_and_the_last_error() -> None:
    streak = Streak(failed_runs=3, since=T0, last_error="REDCap unreachable", alerted=True)
    notice = failing_notice(streak, "NK-01")
    assert "ALERT: scheduled syncs failing (3 in a row)" in notice.subject
    assert "NK-01" in notice.subject
    assert "Scheduled syncs of NK-01 have failed 3 times in a row" in notice.rendered.text
    assert "Last error: REDCap unreachable" in notice.rendered.text
    assert "REDCap unreachable" in notice.rendered.html


def test_each_message_is_keyed_by_when_its_streak_began() -> None:
    """So a crash between queueing and recording queues the same message, sent once."""
    streak = Streak(failed_runs=3, since=T0, last_error="x", alerted=True)
    assert failing_notice(streak, "S").key == failing_notice(streak, "S").key
    later = Streak(failed_runs=3, since=T0 + timedelta(days=1), last_error="x", alerted=True)
    assert failing_notice(later, "S").key != failing_notice(streak, "S").key
    recovered = recovered_notice(streak, "S", T0 + timedelta(hours=5))
    assert recovered.key != failing_notice(streak, "S").key
    assert "after 3 failed runs since" in recovered.rendered.text
    one = recovered_notice(Streak(failed_runs=1, since=T0), "", T0)
    assert "after 1 failed run since" in one.rendered.text
    assert one.rendered.text.startswith("Scheduled syncs succeed again")


def test_the_html_part_escapes_the_error_text() -> None:
    streak = Streak(failed_runs=3, since=T0, last_error="<b>proxy</b> said no", alerted=True)
    html = failing_notice(streak, "S").rendered.html
    assert "&lt;b&gt;proxy&lt;/b&gt; said no" in html
    assert "<b>proxy</b>" not in html


def test_counting_a_run_that_cannot_be_recorded_only_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "state"
    blocked.write_text("a file where the state folder should be")
    with capture_logs() as logs:
        count_scheduled_run(blocked, EmailSettings(), error="down", now=T0)
    assert [e["event"] for e in logs] == ["could not record the run for failure alerts"]
