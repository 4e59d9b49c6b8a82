"""Fixtures for the sandbox tests: sandboxes over real loopback HTTP, a fake clock, and a
small classic project built in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redcap

from tests.conftest import DEMO_PROJECT
from tests.sandbox.synthetic import nk_rows
from worker.sandbox import FakeClock, Sandbox

START = datetime(2026, 11, 20, 9, 0, 0)


def _meta(name: str, form: str, ftype: str = "text", **extra: str) -> dict[str, str]:
    row = {
        "field_name": name,
        "form_name": form,
        "section_header": "",
        "field_type": ftype,
        "field_label": name.replace("_", " ").title(),
        "select_choices_or_calculations": "",
        "field_note": "",
        "text_validation_type_or_show_slider_number": "",
        "text_validation_min": "",
        "text_validation_max": "",
        "identifier": "",
        "branching_logic": "",
        "required_field": "",
        "custom_alignment": "",
        "question_number": "",
        "matrix_group_name": "",
        "matrix_ranking": "",
        "field_annotation": "",
    }
    row.update(extra)
    return row


CLASSIC_METADATA = [
    _meta("record_id", "demographics", field_label="Record ID"),
    _meta("name", "demographics"),
    _meta("dob", "demographics", text_validation_type_or_show_slider_number="date_ymd"),
    _meta("age", "demographics", text_validation_type_or_show_slider_number="integer"),
    _meta("weight", "demographics", text_validation_type_or_show_slider_number="number"),
    _meta("sex", "demographics", "radio", select_choices_or_calculations="1, Female | 2, Male"),
    _meta(
        "colors",
        "demographics",
        "checkbox",
        field_label="Colors",
        select_choices_or_calculations="1, Red | 2, Green | -1, Unknown",
    ),
    _meta("consent", "demographics", "yesno"),
    _meta("intro", "demographics", "descriptive"),
    _meta("photo", "demographics", "file"),
    _meta("bmi", "demographics", "calc", select_choices_or_calculations="[weight]/4"),
    _meta("visit_date", "visit", text_validation_type_or_show_slider_number="date_ymd"),
    _meta("visit_score", "visit", text_validation_type_or_show_slider_number="integer"),
    _meta("visit_done", "visit", "truefalse"),
]


def write_classic_project(folder: Path, *, repeating: bool = True, dags: bool = True) -> Path:
    """A classic (non-longitudinal) project; ``visit`` repeats unless ``repeating`` is False."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(CLASSIC_METADATA))
    (folder / "instruments.json").write_text(
        json.dumps(
            [
                {"instrument_name": "demographics", "instrument_label": "Demographics"},
                {"instrument_name": "visit", "instrument_label": "Visit"},
            ]
        )
    )
    (folder / "project.json").write_text(
        json.dumps({"project_id": 77, "project_title": "Classic test", "is_longitudinal": 0})
    )
    if repeating:
        (folder / "repeating_forms_events.json").write_text(
            json.dumps([{"form_name": "visit", "custom_form_label": "[visit_date]"}])
        )
    if dags:
        (folder / "dags.json").write_text(
            json.dumps(
                [
                    {
                        "data_access_group_name": "Site A",
                        "unique_group_name": "site_a",
                        "data_access_group_id": 11,
                    },
                    {
                        "data_access_group_name": "Site B",
                        "unique_group_name": "site_b",
                        "data_access_group_id": 12,
                    },
                ]
            )
        )
    return folder


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Iterator[SandboxFactory]:
    """Build and start sandboxes (the dNK demo project, empty data and the fake clock unless
    told otherwise)."""
    started: list[Sandbox] = []

    def factory(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("project_dir", DEMO_PROJECT)
        kwargs.setdefault("data", "empty")
        kwargs.setdefault("clock", clock)
        sandbox = Sandbox.from_folder(**kwargs).start()
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def nk(make_sandbox: SandboxFactory) -> Sandbox:
    """The dNK project with three synthetic participants."""
    return make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(3))


@pytest.fixture
def classic_dir(tmp_path: Path) -> Path:
    return write_classic_project(tmp_path / "classic")


@pytest.fixture
def classic(make_sandbox: SandboxFactory, classic_dir: Path) -> Sandbox:
    return make_sandbox(project_dir=classic_dir)


def pycap(sandbox: Sandbox) -> redcap.Project:
    """A PyCap 2.7 client for the sandbox, with a timeout as the worker would use."""
    return redcap.Project(sandbox.url, sandbox.token, timeout=20)
