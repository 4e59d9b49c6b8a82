"""Where a sandbox project comes from: a folder of REDCap API exports, a REDCap project XML
file, or a data dictionary CSV; and the data, if any, that the source itself carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.sandbox.dictionary_csv import read_dictionary
from worker.sandbox.odm import read_odm
from worker.sandbox.project import ProjectDef, build_project, load_project

FILE_KINDS = (".xml", ".csv")


@dataclass(frozen=True)
class ProjectSource:
    project: ProjectDef
    # The records a project XML carries (its ClinicalData); None for a folder, whose starting
    # data is its demo_data.py, and for a dictionary, which has none.
    rows: list[dict[str, str]] | None = None

    @property
    def is_file(self) -> bool:
        return self.project.folder.is_file()


def is_project_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in FILE_KINDS


def open_project(path: str | Path) -> ProjectSource:
    """A folder, ``*.xml`` or ``*.csv``; anything else, or a malformed file, a ConfigError."""
    path = Path(path).resolve()
    if path.is_dir():
        return ProjectSource(load_project(path))
    if not path.is_file():
        raise ConfigError(f"project {path} is neither a folder nor a file")
    suffix = path.suffix.lower()
    if suffix == ".xml":
        odm = read_odm(path)
        return ProjectSource(_build(path, odm.exports), odm.rows)
    if suffix == ".csv":
        return ProjectSource(_build(path, {"metadata": read_dictionary(path)}))
    raise ConfigError(
        f"project {path} must be a folder of API exports, a REDCap project XML file (.xml) "
        "or a data dictionary CSV (.csv)"
    )


def _build(path: Path, exports: dict[str, Any]) -> ProjectDef:
    # The cross-checks name the API export at fault ("metadata.json: ..."); say which file
    # that export was read from.
    try:
        return build_project(path, exports)
    except ConfigError as exc:
        raise ConfigError(f"{path.name}, read as REDCap's API exports: {exc}") from None
