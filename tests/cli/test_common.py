"""Options and the session shared by the commands that talk to REDCap (worker/cli/common.py):
option types, and which demo project the sandbox serves: the one the config names
(``study.demo``), never one the worker names itself."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from tests.support.projects import DEMO_PROJECT, REPO
from tests.support.worker_process import run_worker, worker_env
from worker.cli import common
from worker.cli.common import (
    EXAMPLE_CONFIG,
    default_demo_folder,
    demo_folder,
    parse_date,
    positive_number,
    require,
)
from worker.config import load_settings
from worker.errors import ConfigError


def test_a_positive_number_option_refuses_zero_negatives_and_non_numbers() -> None:
    seconds = positive_number("seconds")
    assert seconds("2.5") == 2.5
    for text in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(
            argparse.ArgumentTypeError, match=f"not a positive number of seconds: {text!r}"
        ):
            seconds(text)


def test_a_date_option_is_iso() -> None:
    assert parse_date("2026-11-26") == date(2026, 11, 26)
    with pytest.raises(
        argparse.ArgumentTypeError, match="not a date \\(YYYY-MM-DD\\): '26/11/2026'"
    ):
        parse_date("26/11/2026")


def test_require_is_a_config_error_when_the_condition_fails() -> None:
    require(True, "never raised")
    with pytest.raises(ConfigError, match="--out needs a file"):
        require(False, "--out needs a file")


def test_the_example_config_names_the_bundled_demo() -> None:
    assert EXAMPLE_CONFIG == REPO / "config.example.toml"
    assert demo_folder(load_settings(EXAMPLE_CONFIG)) == DEMO_PROJECT


def test_with_no_config_here_the_sandbox_serves_the_example_configs_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_demo_folder() == DEMO_PROJECT


def test_a_config_here_names_the_demo_relative_to_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text('[study]\ndemo = "demos/other"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert default_demo_folder() == tmp_path.resolve() / "demos" / "other"


def test_a_config_naming_no_demo_gets_the_example_configs_as_before(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[study]\ntimezone = "UTC"\n', encoding="utf-8")
    assert demo_folder(load_settings(config)) == DEMO_PROJECT


def test_with_no_demo_named_anywhere_the_sandbox_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[study]\ntimezone = "UTC"\n', encoding="utf-8")
    monkeypatch.setattr(common, "EXAMPLE_CONFIG", tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"set study\.demo in the config"):
        common.demo_folder(load_settings(config))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"set study\.demo in the config"):
        common.default_demo_folder()


@pytest.mark.e2e
def test_sandbox_serves_the_demo_the_config_names(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[study]\nmapping = "{REPO / "mappings" / "nk_trial.toml"}"\n'
        f'rules = "{REPO / "rules" / "nk_trial"}"\ndemo = "no_such_demo"\n',
        encoding="utf-8",
    )
    done = run_worker(
        "check", "--config", str(config), "--sandbox", env=worker_env("http://x/api/", "x" * 32)
    )
    assert done.returncode == 2
    assert str(tmp_path / "no_such_demo") in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_sandbox_try_keeps_its_own_state_never_inside_the_installed_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Installed from a wheel, the bundled example config sits in the package, and its
    # relative state_dir would put the state there: it goes to the working folder instead.
    package = tmp_path / "site-packages" / "worker_demo"
    monkeypatch.setattr(common, "DEMO_PACKAGE", package)
    assert common.sandbox_state_dir(package / "state") == Path("state") / "sandbox"
    assert common.sandbox_state_dir(tmp_path / "state") == tmp_path / "state" / "sandbox"
    monkeypatch.setattr(common, "DEMO_PACKAGE", None)
    assert common.sandbox_state_dir(package / "state") == package / "state" / "sandbox"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (("--export-right", "data_query=some"), "error: export right 'data_query=some': use"),
        (("--export-right", "no_form=none"), "error: export right for 'no_form': the project"),
        (("--delete-record-after", "soon:12"), "error: 'soon:12': use N:RECORD"),
    ],
)
def test_a_bad_sandbox_access_option_is_one_line(option: tuple[str, str], expected: str) -> None:
    done = run_worker("sandbox", "demo", *option, env=worker_env("", ""))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(expected)
