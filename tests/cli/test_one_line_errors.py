"""Every user mistake is one line on stderr and exit 2, never a traceback or argparse's usage
block: usage errors, unreadable config and mapping files, a list given as a plain environment
value, a plain-http REDCap URL, a report path that is a folder; and email settings that
cannot work are refused before the sync writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import WorkerRun, run_worker, worker_env

CONFIG = REPO / "config.example.toml"
LATIN_1 = "# Études cliniques\n".encode("latin-1")


def assert_one_line(done: WorkerRun, *expected: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "usage:" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    [line] = lines
    assert line.startswith("error: ")
    for text in expected:
        assert text in line
    return line


def offline_env(**extra: str) -> dict[str, str]:
    """An environment whose REDCap no test reaches: these mistakes stop the worker first."""
    return worker_env("https://redcap.invalid/api/", "A" * 32, **extra)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["check", "--bogus"],
            ["unrecognized arguments: --bogus", "python -m worker check --help"],
        ),
        (["check", "--as-of", "yesterday"], ["not a date", "python -m worker check --help"]),
        (["check", "--format", "xml"], ["invalid choice", "python -m worker check --help"]),
        (["chekc"], ["invalid choice", "python -m worker --help"]),
        ([], ["required", "python -m worker --help"]),
    ],
)
def test_a_usage_error_is_one_line_with_a_pointer_to_help(
    args: list[str], expected: list[str]
) -> None:
    assert_one_line(run_worker(*args, env=offline_env()), *expected)


@pytest.mark.e2e
def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(LATIN_1 + b'state_dir = "st\xe9"\n')
    done = run_worker("check", "--config", str(config), env=offline_env())
    assert_one_line(done, str(config), "not UTF-8")


def test_a_mapping_file_that_is_not_utf8_is_one_line(demo_sandbox, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_bytes(LATIN_1 + (REPO / "mappings" / "nk_trial.toml").read_bytes())
    config = tmp_path / "config.toml"
    config.write_text(
        f'[study]\nmapping = "{mapping}"\nrules = "{REPO / "rules" / "nk_trial"}"\n',
        encoding="utf-8",
    )
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path / "s"))
    done = run_worker("check", "--config", str(config), "--as-of", AS_OF.isoformat(), env=env)
    assert_one_line(done, "mapping file", "not UTF-8")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WORKER_EMAIL__CRITICAL", "pi@example.org", """'["a@example.org"]'"""),
        ("WORKER_EMAIL__SITES", "site_a", "a table"),
    ],
)
def test_a_list_given_as_a_plain_environment_value_is_one_line(
    variable: str, value: str, expected: str
) -> None:
    done = run_worker("check", "--config", str(CONFIG), env=offline_env(**{variable: value}))
    assert_one_line(done, variable, "JSON", expected)


@pytest.mark.e2e
@pytest.mark.parametrize("url", ["http://redcap.example.org/api/", "http://192.0.2.7/redcap/api/"])
def test_plain_http_to_a_remote_host_is_refused_in_one_line(url: str) -> None:
    env = worker_env(url, "A" * 32)
    done = run_worker("check", "--config", str(CONFIG), env=env)
    assert_one_line(done, "plain http", "https://", "allow_insecure_http")


def test_report_out_naming_a_folder_is_one_line_before_any_request(
    demo_sandbox, tmp_path: Path
) -> None:
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path / "s"))
    done = run_worker("report", "--config", str(CONFIG), "--out", str(tmp_path), env=env)
    assert_one_line(done, "is a folder")
    assert len(demo_sandbox.request_log) == 0


def test_a_report_path_that_cannot_be_written_is_one_line(demo_sandbox, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    out = tmp_path / "a_file" / "report.html"  # under a file: no folder can be made there
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path / "s"))
    args = ["--config", str(CONFIG), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    assert_one_line(run_worker("report", *args, env=env), "cannot write the report", str(out))


@pytest.mark.e2e
def test_a_state_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    env = offline_env(WORKER_STATE_DIR=str(tmp_path / "a_file" / "state"))
    done = run_worker("health", "--config", str(CONFIG), env=env)
    assert done.returncode in (1, 2)  # health reads nothing it cannot find
    assert "Traceback" not in done.stderr
    sync = run_worker("sync", "--config", str(CONFIG), env=env)
    assert_one_line(sync, "state_dir")


def test_an_smtp_username_without_a_password_is_refused_before_any_request(
    demo_sandbox, tmp_path: Path
) -> None:
    env = worker_env(
        demo_sandbox.url,
        demo_sandbox.token,
        WORKER_STATE_DIR=str(tmp_path / "s"),
        WORKER_EMAIL__SMTP_HOST="smtp.example.org",
        WORKER_EMAIL__USERNAME="dq-bot",
    )
    args = ["--config", str(CONFIG), "--as-of", AS_OF.isoformat()]
    assert_one_line(run_worker("sync", *args, env=env), "email.username", "no password")
    assert not demo_sandbox.request_log.imports()
    assert len(demo_sandbox.request_log) == 0  # nothing at all was asked of REDCap
