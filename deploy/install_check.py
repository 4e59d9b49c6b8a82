"""Check the container image's install steps without a Docker engine.

Reads the Dockerfile and replays it on this machine, in a temporary folder standing in for
the image's filesystem:

1. the build stage: its COPYs from the context, then its RUN lines *verbatim*, with only
   ``/opt/venv`` pointed into the temporary folder and ``python`` being this interpreter
   (which must be the image's Python minor version);
2. the runtime stage: its COPYs from the context (into the stand-in for WORKDIR) and its
   ENV, then the commands a container runs: ``--help``, ``health --help``, ``health`` before
   any sync (exit 1), a ``sync`` against the bundled sandbox, and the HEALTHCHECK command
   exactly as written (exit 0); and, from an empty folder with no config, ``check
   --sandbox`` (exit 1: the demo's findings), which only the demo study inside the
   installed wheel can serve.

So a lock missing a dependency, a COPY missing a file the worker needs at build or run
time, a wheel without the demo study, or a broken entry point fails CI as it would fail
the image build or the container.

    python deploy/install_check.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = "/opt/venv"
# A date the bundled demo data is written against, so the smoke sync is the same every day.
DEMO_AS_OF = "2026-11-26"


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest, continuation lines joined


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """The Dockerfile's stages and their instructions (comments and blank lines dropped,
    backslash continuations joined). Enough for this project's Dockerfile, not a full parser:
    no heredocs, no escape directive."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current.strip())
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE)
            if not match:
                raise ValueError(f"cannot read FROM {args!r}")
            stages.append(Stage(base=match.group(1), name=match.group(2)))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
        elif keyword != "ARG":
            raise ValueError(f"{keyword} before the first FROM")
    return stages


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for the shell form."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def parse_env(args: str) -> dict[str, str]:
    """``ENV K=V K2=V2`` (and the legacy ``ENV K V``), quotes removed, not yet expanded."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def copy_sources(instruction: Instruction) -> tuple[list[str], str, dict[str, str]]:
    """(sources, destination, flags) of a COPY."""
    words = shlex.split(instruction.args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    listed = exec_form(" ".join(words))
    if listed is not None:
        words = listed
    return words[:-1], words[-1], flags


class Image:
    """A temporary folder standing in for the image's filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "opt-venv"
        self.bin = root / "bin"  # `python` for the RUN lines: this interpreter
        self.bin.mkdir(parents=True)
        (self.bin / "python").symlink_to(sys.executable)

    def path(self, image_path: str) -> Path:
        """Where an absolute path of the image lives here."""
        return self.root / "fs" / image_path.lstrip("/")

    def rewrite(self, text: str) -> str:
        return text.replace(VENV, str(self.venv))

    def copy_in(self, instruction: Instruction, workdir: str) -> None:
        sources, dest, flags = copy_sources(instruction)
        if "from" in flags:
            return  # from another stage: the venv, which is used where it was built
        target = self.path(dest if dest.startswith("/") else f"{workdir}/{dest}")
        for source in sources:
            origin = REPO / source
            if not origin.exists():
                raise SystemExit(f"COPY {source}: not in the build context")
            if origin.is_dir():
                shutil.copytree(
                    origin, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                where = target / origin.name if dest.endswith("/") else target
                where.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, where)


def step(title: str) -> None:
    print(f"install-check: {title}", flush=True)


def build_stage(image: Image, stage: Stage) -> None:
    workdir = "/"
    env = {"PATH": f"{image.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    # This machine's way to the package index (pip settings, proxies, CA bundle).
    passed = ("HOME", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    for key, value in os.environ.items():
        if key in passed or key.startswith("PIP_") or key.lower().endswith("_proxy"):
            env[key] = value
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = instruction.args
            image.path(workdir).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "ENV":
            env.update(parse_env(instruction.args))
        elif instruction.keyword == "COPY":
            image.copy_in(instruction, workdir)
        elif instruction.keyword == "RUN":
            command = image.rewrite(instruction.args)
            step(f"RUN {command}")
            subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=image.path(workdir),
                env=env,
                check=True,
            )


def runtime_env(image: Image, stage: Stage) -> dict[str, str]:
    """The runtime stage's ENV, its image paths moved into the stand-in folder."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(image.root)}
    for instruction in stage.all("ENV"):
        for key, value in parse_env(instruction.args).items():
            value = value.replace("${PATH}", env["PATH"]).replace("$PATH", env["PATH"])
            value = image.rewrite(value)
            if key != "PATH" and value.startswith("/"):
                # An image path (WORKER_STATE_DIR=/state): its stand-in.
                value = str(image.path(value))
            env[key] = value
    return env


def run_stage(image: Image, stage: Stage) -> None:
    workdir = "/"
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = instruction.args
            image.path(workdir).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            image.copy_in(instruction, workdir)
    volumes = [v for i in stage.all("VOLUME") for v in (exec_form(i.args) or i.args.split())]
    for volume in volumes:
        image.path(volume).mkdir(parents=True, exist_ok=True)
    env = runtime_env(image, stage)
    # Only the last ENTRYPOINT and HEALTHCHECK of a stage count.
    entrypoint = exec_form(stage.all("ENTRYPOINT")[-1].args)
    health = stage.all("HEALTHCHECK")[-1].args
    health_cmd = exec_form(health.split(" CMD ", 1)[1].strip())
    if entrypoint is None or health_cmd is None:
        raise SystemExit("ENTRYPOINT and HEALTHCHECK CMD must be in exec form")
    cwd = image.path(workdir)

    def container(
        argv: list[str],
        expect: int,
        extra_env: dict[str, str] | None = None,
        where: Path = cwd,
    ) -> None:
        argv = [str(image.venv / "bin" / "python") if a == "python" else a for a in argv]
        step(f"{shlex.join(['python', *argv[1:]])} (expect exit {expect})")
        done = subprocess.run(
            argv, cwd=where, env={**env, **(extra_env or {})}, capture_output=True, text=True
        )
        if done.returncode != expect:
            sys.stdout.write(done.stdout[-3000:])
            sys.stderr.write(done.stderr[-3000:])
            raise SystemExit(f"exit {done.returncode}, expected {expect}: {argv}")

    container([*entrypoint, "--help"], 0)
    container([*entrypoint, "health", "--help"], 0)
    container(health_cmd, 1)  # no sync yet
    container([*entrypoint, "sync", "--sandbox", "--as-of", DEMO_AS_OF], 0)
    # A sandbox try keeps its own state folder (never the real project's cursor), so its
    # heartbeat is read from there.
    sandbox_state = str(Path(env["WORKER_STATE_DIR"]) / "sandbox")
    container(health_cmd, 0, {"WORKER_STATE_DIR": sandbox_state})
    # The worker is the installed package, not files beside it: from an empty folder, with
    # no config, --sandbox serves the demo study the wheel carries (exit 1: its findings).
    empty = image.path("/tmp/empty")
    empty.mkdir(parents=True)
    container([*entrypoint, "check", "--sandbox", "--as-of", DEMO_AS_OF], 1, where=empty)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    stages = parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))
    build = next(s for s in stages if s.name == "build")
    final = stages[-1]
    wanted = re.search(r"python:(\d+)\.(\d+)", final.base)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted is None or f"{wanted.group(1)}.{wanted.group(2)}" != here:
        raise SystemExit(f"the image uses {final.base}, this interpreter is Python {here}")
    root = Path(tempfile.mkdtemp(prefix="install-check-"))
    try:
        image = Image(root)
        build_stage(image, build)
        run_stage(image, final)
    finally:
        if args.keep:
            step(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    step("ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
