"""``visits``: each treated participant's follow-up visits, soonest due first, in agreement
with the visit-window checks NK-WIN-01 and NK-WIN-02."""

from __future__ import annotations

import argparse
import dataclasses
import json
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.nk_trial import (
    SEEDED,
    demo_data,
    ruleset,
    schema,
    screened,
    study,
    treated,
)
from tests.support.projects import AS_OF, REPO
from tests.support.schedules import schedule_failing_for
from tests.support.worker_process import run_worker, worker_env
from worker.cli import visits as cli
from worker.config import load_settings
from worker.core.rules.tally import keep_every_visit
from worker.core.rules.wording import GENERIC
from worker.core.visits import VisitRow, VisitStatus, sort_visits
from worker.errors import ConfigError
from worker.pipeline import Study, check_batches

CONFIG = REPO / "config.example.toml"


def collect(study: Study, batches: list[list[dict]], *, as_of: date) -> cli.VisitReport:
    """The visits of one run over ``batches``, as the command runs it (every visit kept)."""
    return cli.collect_visits(check_batches(study, batches, as_of=as_of, visits=keep_every_visit))


def demo_batches(as_of: date = AS_OF, size: int = 7) -> list[list[dict]]:
    rows = demo_data().generate(as_of)
    ids = list(dict.fromkeys(r["record_id"] for r in rows))
    return [
        [r for r in rows if r["record_id"] in ids[i : i + size]] for i in range(0, len(ids), size)
    ]


def row(status: VisitStatus, *, start: int, record: str = "1", month: int = 1) -> VisitRow:
    anchor = date(2026, 1, 1)
    return VisitRow(
        record=record,
        visit=f"month {month}",
        part="follow_up",
        ordinal=month,
        field="mba_date",
        anchor=anchor,
        target=anchor + timedelta(days=start + 7),
        window_start=anchor + timedelta(days=start),
        window_end=anchor + timedelta(days=start + 14),
        sample_date=None,
        status=status,
    )


# --- Order ----------------------------------------------------------------------------------


def test_what_is_due_soonest_comes_first() -> None:
    rows = [
        row(VisitStatus.IN_WINDOW, start=0, record="a"),
        row(VisitStatus.UPCOMING, start=40, record="b"),
        row(VisitStatus.MISSED, start=-30, record="c"),
        row(VisitStatus.DUE, start=-2, record="d"),  # closes in 12 days
        row(VisitStatus.UPCOMING, start=20, record="e"),
        row(VisitStatus.DUE, start=-10, record="f"),  # closes in 4 days
        row(VisitStatus.NOT_EXPECTED, start=10, record="g"),
        row(VisitStatus.OUT_OF_WINDOW, start=5, record="h"),
    ]
    assert [r.record for r in sort_visits(rows)] == ["f", "d", "e", "b", "c", "h", "a", "g"]


# --- Collecting over record batches -------------------------------------------------------


def test_only_treated_participants_have_visits() -> None:
    batches = [[*treated("1").rows.values(), *screened("2").rows.values()]]
    report = collect(study(), batches, as_of=AS_OF)
    assert {r.record for r in report.rows} == {"1"}
    assert (report.records_checked, report.participants, len(report.rows)) == (2, 1, 6)


def test_the_command_agrees_with_nk_win01_and_nk_win02_on_the_demo() -> None:
    batches = demo_batches()
    report = collect(study(), batches, as_of=AS_OF)
    checked = check_batches(study(), batches, as_of=AS_OF)

    def found(rule: str) -> set[tuple[str, str | None]]:
        return {(f.record, f.event) for f in checked.findings if f.rule == rule}

    def listed(status: VisitStatus) -> set[tuple[str, str | None]]:
        return {(r.record, r.event) for r in report.rows if r.status is status}

    assert listed(VisitStatus.OUT_OF_WINDOW) == found("NK-WIN-01")
    assert listed(VisitStatus.MISSED) == found("NK-WIN-02")
    assert found("NK-WIN-02")  # the demo seeds missed months
    assert report.rows == sort_visits(report.rows)


def test_a_participant_whose_schedule_fails_is_reported_and_the_others_listed() -> None:
    broken = dataclasses.replace(study(), ruleset=schedule_failing_for(ruleset(), "2"))
    batches = [[*treated("1").rows.values(), *treated("2").rows.values()]]
    report = collect(broken, batches, as_of=AS_OF)
    assert report.errors == ["2"]
    assert {r.record for r in report.rows} == {"1"}


def test_a_study_without_a_schedule_has_no_visits_to_list() -> None:
    unscheduled = dataclasses.replace(
        study(), ruleset=dataclasses.replace(ruleset(), visit_schedule=None)
    )
    with pytest.raises(ConfigError, match="no visit schedule"):
        cli.require_schedule(unscheduled)
    batches = [list(treated("1").rows.values())]
    outcome = check_batches(unscheduled, batches, as_of=AS_OF, visits=keep_every_visit)
    with pytest.raises(ConfigError, match="no visit schedule"):
        cli.collect_visits(outcome)


# --- Rendering ------------------------------------------------------------------------------


def test_json_lists_each_visit_with_dates_days_and_status() -> None:
    rec = treated("4", months=(1,)).fu(2, mba_date="2026-04-19")  # day 48
    d0 = date(2026, 3, 2)
    report = collect(study(), [list(rec.rows.values())], as_of=d0 + timedelta(days=60))
    document = json.loads(cli.render_json(report))
    assert document["as_of"] == "2026-05-01"
    first = document["visits"][0]
    assert first == {
        "record": "4",
        "visit": "month 3",
        "event": "fu_m3_arm_1",
        "target": "2026-05-25",
        "window_start": "2026-05-18",
        "window_end": "2026-06-01",
        "target_day": 84,
        "window_days": [77, 91],
        "sample_date": None,
        "sample_day": None,
        "status": "upcoming",
        "note": "opens in 17 days",
    }
    statuses = {v["visit"]: v["status"] for v in document["visits"]}
    assert statuses["month 2"] == "out of window"
    assert statuses["month 1"] == "in window"
    assert document["summary"]["by_status"]["upcoming"] == 4
    assert document["summary"]["participants"] == 1


def test_the_table_has_a_headline_and_one_line_per_visit() -> None:
    rec = treated("4", months=(1,))
    d0 = date(2026, 3, 2)
    report = collect(study(), [list(rec.rows.values())], as_of=d0 + timedelta(days=50))
    lines = cli.render_table(report).splitlines()
    assert lines[0] == (
        "Follow-up visits as of 2026-04-21: 1 due now, 4 upcoming, 0 missed (1 treated participant)"
    )
    assert lines[2].split() == ["record", "visit", "target", "window", "sample", "status", "note"]
    assert lines[3].split()[:3] == ["4", "month", "2"]
    assert "due now" in lines[3]
    assert "closes in 13 days" in lines[3]
    assert len(lines) == 3 + 6


def test_without_the_studys_words_the_headline_is_generic() -> None:
    rec = treated("4", months=(1,))
    d0 = date(2026, 3, 2)
    report = collect(study(), [list(rec.rows.values())], as_of=d0 + timedelta(days=50))
    report.wording = GENERIC
    assert cli.render_table(report).splitlines()[0] == (
        "Visits as of 2026-04-21: 1 due now, 4 upcoming, 0 missed "
        "(1 participant with a visit schedule)"
    )


def test_a_visit_not_expected_is_listed_with_the_studys_reason() -> None:
    rec = treated("4", months=(1,)).eos(eos_date=date(2026, 4, 1), eos_status=3)
    report = collect(study(), [list(rec.rows.values())], as_of=date(2026, 11, 26))
    table = cli.render_table(report)
    assert table.count("not expected: ended") == 5
    document = json.loads(cli.render_json(report))
    assert document["summary"]["by_status"]["not expected"] == 5


def test_an_empty_report_says_so() -> None:
    report = collect(study(), [list(screened().rows.values())], as_of=AS_OF)
    assert "No follow-up visits to show." in cli.render_table(report)


# --- The command ------------------------------------------------------------------------------


class FakeClient:
    """What ``visits`` needs of the REDCap client: the schema and the record batches."""

    max_concurrent_requests = 1  # one export at a time, as a client configured so

    def __init__(self, batches: list[list[dict]]) -> None:
        self.batches = batches
        self.asked: dict[str, Any] = {}

    def schema(self) -> Any:
        return schema()

    def iter_record_batches(self, **kwargs: Any) -> list[list[dict]]:
        self.asked = kwargs
        return self.batches


def run_command(monkeypatch: pytest.MonkeyPatch, client: FakeClient, *argv: str) -> int:
    @contextmanager
    def session(args: argparse.Namespace):
        yield argparse.Namespace(
            settings=load_settings(CONFIG), client=client, as_of=args.as_of or AS_OF
        )

    monkeypatch.setattr(cli, "open_session", session)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["visits", *argv])
    return args.func(args)


def test_run_passes_records_to_the_export_and_prints_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeClient([list(treated("3").rows.values())])
    code = run_command(monkeypatch, client, "--record", "3", "--format", "json")
    assert code == 0
    assert client.asked["records"] == ["3"]
    assert "queries" not in " ".join(client.asked["forms"])  # the query form is not needed
    document = json.loads(capsys.readouterr().out)
    assert {v["record"] for v in document["visits"]} == {"3"}


def test_run_exits_1_when_a_schedule_cannot_be_computed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fragile_study = dataclasses.replace(study(), ruleset=schedule_failing_for(ruleset(), "5"))
    monkeypatch.setattr(cli, "load_study", lambda settings, schema: fragile_study)
    client = FakeClient([[*treated("4").rows.values(), *treated("5").rows.values()]])
    code = run_command(monkeypatch, client)
    captured = capsys.readouterr()
    assert code == 1
    assert "could not be computed for 1 record(s): 5" in captured.err
    assert "month 1" in captured.out


# --- End to end, against the sandbox ----------------------------------------------------------


@pytest.mark.e2e
def test_visits_end_to_end_on_the_demo_sandbox(demo_sandbox: Any) -> None:
    run = run_worker(
        "visits",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    missed = {(f["record"], f["event"]) for f in SEEDED if f["rule"] == "NK-WIN-02"}
    listed = {(v["record"], v["event"]) for v in document["visits"] if v["status"] == "missed"}
    assert listed == missed
    statuses = [v["status"] for v in document["visits"]]
    assert statuses[0] == "due now"
