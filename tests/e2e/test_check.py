"""`python -m worker check` end to end: a subprocess, through PyCap, against the sandbox."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.support.nk_trial import seeded
from tests.support.projects import AS_OF, REPO
from tests.support.studies import finding_key
from tests.support.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e

CONFIG = str(REPO / "config.example.toml")


def check_json(sandbox, *extra: str, **env: str) -> tuple[int, dict, str]:
    run = run_worker(
        "check",
        "--config",
        CONFIG,
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        *extra,
        env=worker_env(sandbox.url, sandbox.token, **env),
    )
    document = json.loads(run.stdout) if run.stdout.strip() else {}
    return run.returncode, document, run.stderr


def test_check_reports_every_seeded_generic_finding_and_no_other(demo_sandbox) -> None:
    code, document, _ = check_json(demo_sandbox)
    assert code == 1
    found = {finding_key(f) for f in document["findings"] if f["rule"].startswith("DQ-")}
    assert found == seeded("DQ-")


def test_check_reports_exactly_the_seeded_findings_study_and_generic(demo_sandbox) -> None:
    _, document, _ = check_json(demo_sandbox)
    assert {finding_key(f) for f in document["findings"]} == seeded()
    assert document["summary"]["check_errors"] == 0


def test_check_json_is_sorted_and_shaped_as_documented(demo_sandbox) -> None:
    _, document, _ = check_json(demo_sandbox)
    assert document["as_of"] == AS_OF.isoformat()
    first = document["findings"][0]
    assert list(first) == [
        "rule",
        "kind",
        "severity",
        "record",
        "event",
        "instrument",
        "instance",
        "field",
        "message",
    ]

    def order(f: dict) -> tuple:
        record = (0, int(f["record"]), "") if f["record"].isdigit() else (1, 0, f["record"])
        return (record, f["event"] or "", f["instance"] or 0, f["field"] or "", f["rule"])

    assert document["findings"] == sorted(document["findings"], key=order)


def test_check_survives_server_errors_drops_and_html_pages(demo_sandbox) -> None:
    _, clean, _ = check_json(demo_sandbox)
    demo_sandbox.faults.plan("500", "500", "drop", "html")
    code, faulty, stderr = check_json(demo_sandbox, "--log-level", "warning")
    assert code == 1
    assert faulty["findings"] == clean["findings"]
    assert "Traceback" not in stderr


def test_check_is_read_only(demo_sandbox) -> None:
    check_json(demo_sandbox)
    assert not [entry for entry in demo_sandbox.request_log if entry.is_import]


def test_an_unreachable_redcap_exits_3_with_one_line_naming_the_url() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/"
    run = run_worker(
        "check", "--config", CONFIG, env=worker_env(url, "0123456789ABCDEF0123456789ABCDEF")
    )
    assert run.returncode == 3
    assert run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1
    assert url in lines[0]
    assert "Traceback" not in run.stderr


def test_a_bad_token_is_refused_and_never_appears_in_any_output(demo_sandbox) -> None:
    bad = "FEDCBA9876543210FEDCBA9876543210"
    run = run_worker(
        "check",
        "--config",
        CONFIG,
        "--log-level",
        "debug",
        env=worker_env(demo_sandbox.url, bad),
    )
    assert run.returncode == 3
    assert "You do not have permissions to use the API" in run.stderr
    assert bad not in run.stdout
    assert bad not in run.stderr
    assert bad.lower() not in (run.stdout + run.stderr).lower()


def test_a_malformed_token_is_a_config_error_without_the_token(demo_sandbox) -> None:
    bad = "short-token-value"
    run = run_worker("check", "--config", CONFIG, env=worker_env(demo_sandbox.url, bad))
    assert run.returncode == 2
    assert bad not in run.stderr + run.stdout
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path, demo_sandbox) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[redcap]\nbatch_size = -3\n")
    run = run_worker(
        "check", "--config", str(config), env=worker_env(demo_sandbox.url, demo_sandbox.token)
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: config {config}: redcap.batch_size: Input should be greater than or equal to 1"
    ]


def test_check_of_one_record_exports_only_that_record(demo_sandbox) -> None:
    code, document, _ = check_json(demo_sandbox, "--record", "3")
    assert {f["record"] for f in document["findings"]} <= {"3"}
    assert document["summary"]["records_checked"] == 1
    assert document["summary"]["partial"] is True
    assert code in (0, 1)


def test_fail_on_critical_ignores_lesser_findings(demo_sandbox) -> None:
    code, document, _ = check_json(demo_sandbox, "--fail-on", "critical")
    has_critical = any(f["severity"] == "critical" for f in document["findings"])
    assert code == (1 if has_critical else 0)


def test_the_sandbox_flag_runs_the_demo_without_any_url_or_token() -> None:
    env = worker_env("", "")
    env.pop("REDCAP_API_URL")
    env.pop("REDCAP_API_TOKEN")
    run = run_worker(
        "check",
        "--config",
        CONFIG,
        "--sandbox",
        "--format",
        "json",
        "--as-of",
        AS_OF.isoformat(),
        env=env,
    )
    assert run.returncode == 1
    assert {finding_key(f) for f in json.loads(run.stdout)["findings"]} == seeded()


def test_the_sandbox_needs_no_config_at_all(tmp_path: Path) -> None:
    env = worker_env("", "")
    env.pop("REDCAP_API_URL")
    env.pop("REDCAP_API_TOKEN")
    run = run_worker(
        "check",
        "--sandbox",
        "--format",
        "json",
        "--as-of",
        AS_OF.isoformat(),
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert {finding_key(f) for f in json.loads(run.stdout)["findings"]} == seeded()
