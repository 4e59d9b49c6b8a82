"""A project with two arms, through the CLI against the sandbox: a mapping and rules that
name visits cover every arm; one that names arm 1's events is caught by ``doctor``; and a
record whose only data is one adverse-event instance is checked and queried like any other.

The project is ``tests/fixtures/projects/two_arm_exports`` (see its README): records 1-2 in
arm 1, 3-6 in arm 2; record 5 has a visit but no screening; record 6 only an adverse event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.projects import TWO_ARM_PROJECT
from tests.support.worker_process import WorkerRun, run_worker, worker_env
from worker.sandbox import FakeClock, Sandbox
from worker.state import utc_now

pytestmark = pytest.mark.e2e

TOKEN = "2A4A0000000000000000000000000002"
AS_OF = date(2026, 7, 1)
MAPPING = TWO_ARM_PROJECT / "mapping.toml"
RULES = TWO_ARM_PROJECT / "rules" / "logic_rules.toml"
VISITS = ("screening", "week_4", "week_8", "safety", "queries")
# What the seeded rows hold (rule, record, event, instance, field), in both arms.
SEEDED = {
    ("DQ-RANGE", "2", "screening_arm_1", None, "enr_age"),
    ("DQ-RANGE", "4", "screening_arm_2", None, "enr_age"),
    ("DQ-RANGE", "4", "week_8_arm_2", None, "vis_weight"),
    ("TA-VIS-01", "5", "week_4_arm_2", None, "vis_date"),
    ("TA-AE-01", "6", "safety_arm_2", 1, "ae_end_date"),
}


def now_at_server() -> datetime:
    return utc_now().replace(tzinfo=None)  # the sandbox's REDCap runs on UTC


@pytest.fixture
def clock() -> FakeClock:
    # The seeded rows (and a first sync's query writes) are stamped a day ago.
    return FakeClock(now_at_server() - timedelta(days=1))


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox.from_folder(
        project_dir=TWO_ARM_PROJECT, data=TWO_ARM_PROJECT / "rows.json", token=TOKEN, clock=clock
    ) as sb:
        yield sb


def study(tmp_path: Path, *, mapping: str | None = None, rules: str | None = None) -> Path:
    """A config for the two-arm project; ``mapping`` and ``rules`` replace the fixture's."""
    mapping_path = MAPPING
    if mapping is not None:
        mapping_path = tmp_path / "mapping.toml"
        mapping_path.write_text(mapping, encoding="utf-8")
    rules_dir = RULES.parent
    if rules is not None:
        rules_dir = tmp_path / "rules"
        rules_dir.mkdir()
        (rules_dir / RULES.name).write_text(rules, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        f'[study]\nmapping = "{mapping_path}"\nrules = "{rules_dir}"\ntimezone = "UTC"\n'
        '[redcap]\nserver_timezone = "UTC"\n'
        "[schedule]\nincremental_overlap_minutes = 0\n",
        encoding="utf-8",
    )
    return config


def one_arm_mapping() -> str:
    """The fixture's mapping as written for arm 1 alone (full unique event names)."""
    text = MAPPING.read_text(encoding="utf-8")
    for visit in VISITS:
        text = text.replace(f'"{visit}"', f'"{visit}_arm_1"')
    return text.replace(', "week_8_arm_1"', "")


def rules_naming_arm_1() -> str:
    return RULES.read_text(encoding="utf-8").replace("[screening]", "[screening_arm_1]")


def worker(sandbox: Sandbox, config: Path, *args: str) -> WorkerRun:
    return run_worker(*args, "--config", str(config), env=worker_env(sandbox.url, sandbox.token))


def check(sandbox: Sandbox, config: Path) -> set[tuple]:
    run = worker(sandbox, config, "check", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert run.returncode == 1, run.stderr
    return {
        (f["rule"], f["record"], f["event"], f["instance"], f["field"])
        for f in json.loads(run.stdout)["findings"]
    }


def queries(sandbox: Sandbox) -> list[dict]:
    return [r for r in sandbox.rows() if r["redcap_repeat_instrument"] == "data_query"]


def arms_of_each_record(sandbox: Sandbox) -> dict[str, set[str]]:
    arms: dict[str, set[str]] = {}
    for row in sandbox.rows():
        arms.setdefault(row["record_id"], set()).add(row["redcap_event_name"][-1])
    return arms


# --- doctor --------------------------------------------------------------------------------


def test_doctor_passes_a_mapping_and_rules_that_name_visits(sandbox, tmp_path: Path) -> None:
    run = worker(sandbox, study(tmp_path), "doctor")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok   arms: the mapping covers all 2 arms" in run.stdout.splitlines()
    assert "ok   rules: matches the project" in run.stdout.splitlines()


def test_doctor_names_the_arm_and_events_a_one_arm_mapping_leaves_out(
    sandbox, tmp_path: Path
) -> None:
    run = worker(sandbox, study(tmp_path, mapping=one_arm_mapping()), "doctor")
    assert run.returncode == 2
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAIL arms: ")]
    assert failed[0].startswith("FAIL arms: arm 2 is not covered")
    assert [line.split("'")[1] for line in failed[1:]] == [
        "screening_arm_2",
        "week_4_arm_2",
        "week_8_arm_2",
        "safety_arm_2",
    ]
    assert all("name the visit" in line for line in failed[1:])
    # Arm 2's query event holds only the query form: said, not failed.
    assert any(
        line.startswith("info arms: event 'queries_arm_2'") for line in run.stdout.splitlines()
    )
    # And arm 2's records would have nowhere to get their queries.
    assert any(
        line.startswith("FAIL mapping: queries: event 'queries_arm_1' is not in arm 2")
        for line in run.stdout.splitlines()
    )
    assert "Traceback" not in run.stderr


def test_doctor_names_a_logic_rule_that_names_one_arms_event(sandbox, tmp_path: Path) -> None:
    run = worker(sandbox, study(tmp_path, rules=rules_naming_arm_1()), "doctor")
    assert run.returncode == 2
    [failed] = [line for line in run.stdout.splitlines() if line.startswith("FAIL rules: ")]
    assert "rule TA-VIS-01 names arm 1's event 'screening_arm_1'" in failed
    assert "use the visit name 'screening'" in failed


# --- check and sync ------------------------------------------------------------------------


def test_check_finds_every_arms_findings(sandbox, tmp_path: Path) -> None:
    assert check(sandbox, study(tmp_path)) == SEEDED


def test_a_rule_naming_a_visit_reads_each_participants_own_arm(sandbox, tmp_path: Path) -> None:
    # As written for arm 1, the rule reads arm 1's screening for arm 2's participants too, and
    # finds their (entered) enrollment date blank: false findings, which doctor flags.
    as_written = check(sandbox, study(tmp_path, rules=rules_naming_arm_1()))
    false_ones = {f[:3] for f in as_written - SEEDED}
    assert false_ones == {
        ("TA-VIS-01", "3", "week_4_arm_2"),
        ("TA-VIS-01", "3", "week_8_arm_2"),
        ("TA-VIS-01", "4", "week_8_arm_2"),
    }


def test_a_sync_writes_each_records_queries_in_its_own_arm(sandbox, tmp_path: Path) -> None:
    run = worker(sandbox, study(tmp_path), "sync", "--as-of", AS_OF.isoformat())
    assert run.returncode == 0, run.stderr
    written = {(q["record_id"], q["redcap_event_name"], q["dq_rule"]) for q in queries(sandbox)}
    assert written == {
        ("2", "queries_arm_1", "DQ-RANGE"),
        ("4", "queries_arm_2", "DQ-RANGE"),
        ("5", "queries_arm_2", "TA-VIS-01"),
        ("6", "queries_arm_2", "TA-AE-01"),
    }
    assert len(queries(sandbox)) == len(SEEDED)
    assert all(len(arms) == 1 for arms in arms_of_each_record(sandbox).values())
    again = worker(sandbox, study(tmp_path), "sync", "--as-of", AS_OF.isoformat())
    assert again.returncode == 0, again.stderr
    assert len(queries(sandbox)) == len(SEEDED)  # a rerun finds them where it wrote them


def test_an_incremental_sync_checks_a_new_record_with_only_an_adverse_event(
    sandbox, clock: FakeClock, tmp_path: Path
) -> None:
    config = study(tmp_path)
    full = worker(sandbox, config, "sync", "--as-of", AS_OF.isoformat())
    assert full.returncode == 0, full.stderr
    clock.set(now_at_server() + timedelta(minutes=1))
    sandbox.import_rows(
        [
            {
                "record_id": "7",
                "redcap_event_name": "safety_arm_1",
                "redcap_repeat_instrument": "adverse_event",
                "redcap_repeat_instance": "1",
                "ae_onset": "2026-06-10",
                "ae_end_date": "2026-06-02",
                "ae_serious": "0",
            }
        ]
    )
    mark = sandbox.request_log.mark()
    run = worker(sandbox, config, "sync", "--incremental", "--as-of", AS_OF.isoformat())
    assert run.returncode == 0, run.stderr
    assert sandbox.request_log.since(mark).exported_records() == {"7"}
    [query] = [q for q in queries(sandbox) if q["record_id"] == "7"]
    assert (query["redcap_event_name"], query["dq_rule"], query["dq_instance"]) == (
        "queries_arm_1",
        "TA-AE-01",
        "1",
    )
