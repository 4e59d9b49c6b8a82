"""The guide docs/your-own-study.md, run as a newcomer would follow it.

Every `python -m worker` command in its shell blocks runs, in order, in an empty folder: the
sandbox command serves the example project XML the guide names, every other command talks to
it through the environment the guide exports. Files the guide shows (```toml file=PATH
append```, ```python file=PATH```) are written where it says. The one step that is done by
hand in REDCap's Online Designer (adding the query instrument, marked by an HTML comment) is
done to the project here, exactly as the guide describes it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.projects import REPO, TWO_ARM_XML, dictionary_rows
from tests.support.worker_process import WorkerRun, run_worker, worker_env
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.sandbox.odm import read_odm
from worker.sandbox.project import FILES

pytestmark = pytest.mark.e2e

GUIDE = REPO / "docs" / "your-own-study.md"
EXAMPLE_NAME = "MyStudy.REDCap.xml"
INSTRUMENT_ADDED = "<!-- test: the query instrument is added -->"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.M | re.S)


def visit_of(event: str) -> str:
    return re.sub(r"_arm_\d+$", "", event)


@dataclass(frozen=True)
class Step:
    kind: str  # "command", "file", "append", "instrument"
    text: str
    path: str = ""


def guide_steps(text: str) -> list[Step]:
    """The guide's commands, files and manual steps, in reading order."""
    found: list[tuple[int, Step]] = []
    for block in FENCE.finditer(text):
        info = block["info"].split()
        body = block["body"]
        if info[:1] == ["sh"]:
            for line in body.splitlines():
                if line.startswith("python -m worker "):
                    found.append((block.start(), Step("command", line)))
        elif any(word.startswith("file=") for word in info):
            path = next(w for w in info if w.startswith("file="))[len("file=") :]
            kind = "append" if "append" in info else "file"
            found.append((block.start(), Step(kind, body, path)))
    marker = text.index(INSTRUMENT_ADDED)
    found.append((marker, Step("instrument", "")))
    return [step for _, step in sorted(found, key=lambda item: item[0])]


@dataclass
class Walkthrough:
    """The newcomer's terminal: a working folder, the served project, what ran."""

    folder: Path
    url: str = ""
    served: subprocess.Popen[str] | None = None
    sandbox: Sandbox | None = None
    runs: list[tuple[str, WorkerRun]] = field(default_factory=list)
    imports_after: list[int] = field(default_factory=list)  # import requests so far, per run

    def command(self, line: str) -> None:
        argv = shlex.split(line)[3:]  # after "python -m worker"
        argv = [str(TWO_ARM_XML) if a == EXAMPLE_NAME else a for a in argv]
        if argv[0] == "sandbox":
            self.serve(argv)
            return
        run = run_worker(*argv, env=worker_env(self.url, DEMO_TOKEN), cwd=self.folder)
        assert "Traceback" not in run.stderr, f"{line}\n{run.stderr}"
        # `check` exits 1 when it reports findings, which the example project has.
        allowed = (0, 1) if argv[0] == "check" else (0,)
        assert run.returncode in allowed, f"{line} exited {run.returncode}\n{run.stderr}"
        self.runs.append((line, run))
        log = self.sandbox.request_log if self.sandbox is not None else None
        self.imports_after.append(len(log.imports()) if log is not None else 0)

    def serve(self, argv: list[str]) -> None:
        """The guide's sandbox command, as a process of its own; its banner gives the URL."""
        self.served = subprocess.Popen(
            [sys.executable, "-m", "worker", *argv, "--quiet"],
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.served.stdout is not None
        for line in self.served.stdout:
            if line.startswith("URL:"):
                self.url = line.split()[1]
                break
        assert self.url, "the sandbox printed no URL"

    def add_query_instrument(self, tmp: Path) -> None:
        """What the guide's three Online Designer steps do to the project."""
        study = self.folder / "mystudy"
        visit = tomllib.loads((study / "mapping.toml").read_text(encoding="utf-8"))["queries"][
            "event"
        ]
        odm = read_odm(TWO_ARM_XML)
        exports = dict(odm.exports)
        rows = dictionary_rows((study / "query_instrument.csv").read_text(encoding="utf-8"))
        form = rows[0]["form_name"]
        events = [e for e in exports["events"] if visit_of(e["unique_event_name"]) == visit]
        exports["metadata"] = [*exports["metadata"], *rows]
        exports["instruments"] = [
            *exports["instruments"],
            {"instrument_name": form, "instrument_label": "Data Queries"},
        ]
        exports["mapping"] = [
            *exports["mapping"],
            *(
                {"arm_num": e["arm_num"], "unique_event_name": e["unique_event_name"], "form": form}
                for e in events
            ),
        ]
        exports["repeating"] = [
            *exports.get("repeating", []),
            *(
                {"event_name": e["unique_event_name"], "form_name": form, "custom_form_label": ""}
                for e in events
            ),
        ]
        project = tmp / "project_with_queries"
        project.mkdir()
        for key, value in exports.items():
            (project / FILES[key]).write_text(json.dumps(value), encoding="utf-8")
        self.stop_served()
        self.sandbox = Sandbox.from_folder(
            project_dir=project, data=odm.rows, token=DEMO_TOKEN
        ).start()
        self.url = self.sandbox.url

    def stop_served(self) -> None:
        if self.served is not None:
            self.served.terminate()
            self.served.communicate(timeout=30)
            self.served = None

    def close(self) -> None:
        self.stop_served()
        if self.sandbox is not None:
            self.sandbox.stop()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walkthrough]:
    walk = Walkthrough(tmp_path_factory.mktemp("newcomer"))
    try:
        for step in guide_steps(GUIDE.read_text(encoding="utf-8")):
            if step.kind == "command":
                walk.command(step.text)
            elif step.kind == "instrument":
                walk.add_query_instrument(tmp_path_factory.mktemp("redcap"))
            else:
                path = walk.folder / step.path
                before = path.read_text(encoding="utf-8") if step.kind == "append" else ""
                path.write_text(before + "\n" + step.text, encoding="utf-8")
        yield walk
    finally:
        walk.close()


def runs_of(walk: Walkthrough, command: str) -> list[WorkerRun]:
    return [run for line, run in walk.runs if line.startswith(f"python -m worker {command}")]


def test_the_guide_names_its_steps_in_a_newcomers_order() -> None:
    kinds = [
        s.text.split()[3] if s.kind == "command" else s.kind
        for s in guide_steps(GUIDE.read_text(encoding="utf-8"))
    ]
    assert kinds[0] == "sandbox"
    assert kinds.index("init") < kinds.index("instrument") < kinds.index("sync")
    assert {"check", "init", "doctor", "sync", "report", "append", "file"} <= set(kinds)


def test_every_command_of_the_guide_runs(walkthrough: Walkthrough) -> None:
    assert len(walkthrough.runs) >= 12
    assert (walkthrough.folder / "report.html").is_file()


def test_the_first_check_needs_no_config_and_says_so(walkthrough: Walkthrough) -> None:
    first = runs_of(walkthrough, "check")[0]
    assert first.returncode == 1
    assert "no study rules configured" in " ".join(first.stdout.split())


def test_the_rules_the_guide_adds_find_what_they_should(walkthrough: Walkthrough) -> None:
    table = runs_of(walkthrough, "check --config")[-1].stdout
    assert "EX-01" in table  # record 8: pregnant, aged 76, in arm 2
    assert "EX-02" in table  # record 5: adverse events, no screening data


def test_sync_writes_queries_once_the_instrument_is_added(walkthrough: Walkthrough) -> None:
    assert walkthrough.sandbox is not None
    queries = [r for r in walkthrough.sandbox.rows() if r.get("dq_rule")]
    rules = {r["dq_rule"] for r in queries}
    assert {"EX-01", "EX-02", "DQ-TYPE"} <= rules
    # Each query sits in its record's own arm.
    for row in queries:
        arm = row["redcap_event_name"].rsplit("_", 1)[1]
        assert row["dq_event"] == "" or row["dq_event"].endswith(f"_arm_{arm}")


def test_the_dry_run_and_the_rerun_write_nothing(walkthrough: Walkthrough) -> None:
    syncs = [i for i, (line, _) in enumerate(walkthrough.runs) if " sync " in line]
    dry, first, rerun = (walkthrough.imports_after[i] for i in syncs)
    before = walkthrough.imports_after[syncs[0] - 1]
    assert dry == before  # --dry-run: not one import request
    assert first > dry  # the first real sync writes
    assert rerun == first  # an unchanged project costs no write at all
