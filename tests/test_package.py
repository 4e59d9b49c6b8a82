"""The package: installed from its wheel (not from the source tree), the worker runs the
bundled demo study from any folder.

The slow tests build and install the package into a fresh virtual environment, as a user
would: ``pip install .`` from a copy of the source tree, then ``python -m worker`` from an
empty folder with nothing but that environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

import worker_demo
from tests.support.projects import AS_OF, DEMO_PROJECT, REPO

# What a fresh clone does not hold: caches, environments, build output, local state.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "state",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "config.toml",
)


def key(finding: dict) -> tuple:
    return tuple(finding[k] for k in ("rule", "record", "event", "instance", "field"))


# -- what the wheel carries (fast) --------------------------------------------------------


def test_the_wheel_carries_everything_the_example_config_names() -> None:
    config = tomllib.loads((REPO / worker_demo.EXAMPLE_CONFIG_NAME).read_text(encoding="utf-8"))
    named = [config["study"][k] for k in ("mapping", "rules", "demo")]
    for path in named:
        assert Path(path).parts[0] in worker_demo.BUNDLED, path
        assert (REPO / path).exists(), path
    # And the source distribution the wheel may be built from holds them too.
    manifest = (REPO / "MANIFEST.in").read_text(encoding="utf-8")
    for name in worker_demo.BUNDLED:
        kind = "graft" if (REPO / name).is_dir() else "include"
        assert re.search(rf"^{kind} .*\b{re.escape(name)}\b", manifest, re.MULTILINE), name


def test_in_a_source_checkout_the_demo_study_is_read_where_it_lives() -> None:
    assert worker_demo.ROOT == REPO
    assert worker_demo.EXAMPLE_CONFIG == REPO / "config.example.toml"


def test_ci_runs_the_slow_tests() -> None:
    """CI runs `./run tests`, which is pytest with the project's options: none of them may
    leave out the slow tests (these among them)."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    addopts = " ".join(options["pytest"]["ini_options"]["addopts"])
    assert "slow" not in addopts
    assert "-m" not in addopts.split()
    run = (REPO / "run").read_text(encoding="utf-8")
    [tests] = re.findall(r"^\s*exec .* -m pytest (.*)$", run, re.MULTILINE)
    assert tests.strip() == '"$@"'
    assert "./run tests" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


# -- installed from the wheel (slow) --------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    python: Path
    bin: Path
    site_packages: Path


def clean_env() -> dict[str, str]:
    """This machine's way to the package index, and nothing that points at the source."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WORKER_", "REDCAP_API_", "SMTP_", "PYTHON", "VIRTUAL_ENV"))
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CLONE)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env())
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "."],
        cwd=source,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shutil.rmtree(source)  # nothing of the source tree is left to run from
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Installed(python=python, bin=venv / "bin", site_packages=Path(site))


def run_installed(
    installed: Installed, *args: str, cwd: Path, program: str | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [str(installed.bin / program)] if program else [str(installed.python), "-m", "worker"]
    return subprocess.run(
        [*argv, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_installed_from_the_wheel_check_sandbox_reports_the_demo_findings_from_any_folder(
    installed: Installed, tmp_path: Path
) -> None:
    done = run_installed(
        installed,
        "check",
        "--sandbox",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr  # 1: findings, as seeded
    document = json.loads(done.stdout)
    expected = json.loads((DEMO_PROJECT / "demo_findings.json").read_text(encoding="utf-8"))
    assert sorted(key(f) for f in document["findings"]) == sorted(key(f) for f in expected)
    assert document["summary"]["check_errors"] == 0
    assert list(tmp_path.iterdir()) == []  # check is read-only


@pytest.mark.slow
def test_the_installed_worker_is_the_package_not_the_source(
    installed: Installed, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(installed.python), "-c", "import worker, worker_demo; print(worker.__file__)"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.site_packages)
    bundled = installed.site_packages / "worker_demo"
    assert {p.name for p in bundled.iterdir()} >= set(worker_demo.BUNDLED)
    assert (bundled / "rules" / "nk_trial" / "checks" / "__init__.py").is_file()
    script = run_installed(installed, "--help", cwd=tmp_path, program="redcap-worker")
    assert script.returncode == 0
    assert "check" in script.stdout


@pytest.mark.slow
def test_a_sandbox_sync_keeps_its_state_in_the_working_folder_not_in_the_package(
    installed: Installed, tmp_path: Path
) -> None:
    done = run_installed(installed, "sync", "--sandbox", "--as-of", AS_OF.isoformat(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "state" / "sandbox").is_dir()
    assert not (installed.site_packages / "worker_demo" / "state").exists()
