"""The bundled projects: where they are, their REDCap API exports, their structure as the
worker reads it, and a data dictionary CSV as REDCap reads an uploaded one."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from worker.core.schema import ProjectSchema

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 26)
DEMO_PROJECT = REPO / "demo" / "nk_trial"
# Projects as REDCap's own files: a project XML (with its oracle of generic findings) and a
# data dictionary CSV, served by the sandbox as `python -m worker sandbox FILE` does.
PROJECT_FILES = REPO / "tests" / "fixtures" / "projects"
TWO_ARM_XML = PROJECT_FILES / "two_arm_trial.REDCap.xml"
TWO_ARM_FINDINGS = PROJECT_FILES / "two_arm_trial.findings.json"
CLASSIC_CSV = PROJECT_FILES / "classic_dictionary.csv"


# A synthetic project with two arms whose visits share names (see its README.md).
TWO_ARM_PROJECT = REPO / "tests" / "fixtures" / "projects" / "two_arm_exports"


def project_export(folder: Path, name: str) -> Any:
    """One of a project folder's REDCap API exports (``FOLDER/NAME.json``)."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def demo_export(name: str) -> Any:
    """One of the demo project's REDCap API exports (``demo/nk_trial/NAME.json``)."""
    return project_export(DEMO_PROJECT, name)


@cache
def exports_schema(folder: Path) -> ProjectSchema:
    """A project folder's structure, as the worker reads it from REDCap (immutable, so one
    copy serves every test)."""
    return ProjectSchema.from_exports(
        project_info=project_export(folder, "project"),
        metadata=project_export(folder, "metadata"),
        events=project_export(folder, "events"),
        form_event_mapping=project_export(folder, "form_event_mapping"),
        repeating=project_export(folder, "repeating_forms_events"),
        instruments=project_export(folder, "instruments"),
    )


@cache
def project_xml_text(folder: Path) -> str:
    """A project folder as REDCap's project XML (metadata only), as the sandbox writes it."""
    from worker.sandbox.odm_export import project_xml
    from worker.sandbox.project import load_project

    return project_xml(load_project(folder), version="15.7.6", now=datetime(2026, 11, 20, 9))


def demo_schema() -> ProjectSchema:
    """The dNK demo project's structure."""
    return exports_schema(DEMO_PROJECT)


def two_arm_schema() -> ProjectSchema:
    """The two-arm test project's structure."""
    return exports_schema(TWO_ARM_PROJECT)


def dictionary_rows(csv_text: str) -> list[dict[str, str]]:
    """A Data Dictionary CSV (REDCap's download: human column names) as the API's metadata
    rows, as REDCap reads an uploaded one: columns by position."""
    from worker.core.scaffold import DICTIONARY_COLUMNS

    reader = csv.reader(io.StringIO(csv_text))
    header = next(reader)
    assert header == [human for _, human in DICTIONARY_COLUMNS]
    names = [api for api, _ in DICTIONARY_COLUMNS]
    return [dict(zip(names, row, strict=True)) for row in reader]


def load_demo_data(folder: Path) -> ModuleType:
    """A project folder's ``demo_data.py`` (the generator of its demo rows), imported by path
    under a name of its own."""
    name = f"{folder.name}_demo_data"
    spec = importlib.util.spec_from_file_location(name, folder / "demo_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
