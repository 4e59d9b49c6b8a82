"""The data a sandbox starts with: ``demo`` (the project folder's ``demo_data.py``), ``empty``,
a JSON file of flat rows, or rows given in-process.

Seed rows must fit the project's layout (known columns, events, repeating setup) but their
values are not validated: real REDCap data can hold values that break validation added later,
and the demo deliberately carries such values for the worker's checks to find.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.sandbox.errors import ApiError
from worker.sandbox.importing import ImportOptions, as_text, plan_import
from worker.sandbox.project import ProjectDef
from worker.sandbox.store import Store

DEMO_MODULE = "demo_data.py"
SeedData = str | Path | Sequence[Mapping[str, Any]]


def demo_rows(project_dir: Path, as_of: date, participants: int | None) -> list[dict[str, Any]]:
    """Call ``generate(as_of, participants)`` from the project folder's ``demo_data.py``."""
    path = project_dir / DEMO_MODULE
    if not path.is_file():
        raise ConfigError(f"--data demo: project folder {project_dir} has no {DEMO_MODULE}")
    name = f"_redcap_sandbox_demo_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # The generator may import helpers that sit next to it; let it, for the load only.
    sys.path.insert(0, str(project_dir))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"{path} failed to load: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(project_dir))
    generate = getattr(module, "generate", None)
    if not callable(generate):
        raise ConfigError(f"{path} has no generate(as_of, participants) function")
    try:
        return generate(as_of, participants)
    except Exception as exc:
        raise ConfigError(f"{path}: generate() failed: {type(exc).__name__}: {exc}") from exc


def _rows_from_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"--data: {path} is not 'demo', 'empty' or an existing JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read seed data {path}: {exc}") from exc


def initial_rows(
    project_dir: Path, data: SeedData, as_of: date | None, participants: int | None
) -> list[dict[str, str]]:
    if isinstance(data, str) and data == "demo":
        raw: Any = demo_rows(project_dir, as_of or date.today(), participants)
    elif isinstance(data, str) and data == "empty":
        raw = []
    elif isinstance(data, str | Path):
        raw = _rows_from_file(Path(data))
    else:
        raw = list(data)
    if not isinstance(raw, list) or not all(isinstance(row, Mapping) for row in raw):
        raise ConfigError("seed data must be a list of flat rows (JSON objects)")
    return [{str(k): as_text(v) for k, v in row.items()} for row in raw]


def load_rows(project: ProjectDef, store: Store, rows: Sequence[Mapping[str, str]]) -> list[str]:
    """Bulk-load rows with layout checks only; returns the records written."""
    options = ImportOptions(validate_values=False)
    try:
        with store.lock:
            result = plan_import(project, store, rows, options)
            store.apply(result.plan, overwrite=False)
    except ApiError as exc:
        problems = [_without_value(line) for line in exc.message.splitlines()]
        more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
        raise ConfigError(
            "seed data does not fit the project: " + " | ".join(problems[:3]) + more
        ) from exc
    return result.plan.records


def _without_value(line: str) -> str:
    """``"1","f","v","msg"`` -> ``record 1, f: msg``: user-facing errors never echo values."""
    cells = next(csv.reader([line]))
    if len(cells) != 4:
        return line
    record, field, _, message = cells
    return f"record {record}, {field}: {message}"
