"""A REDCap data dictionary CSV (the Designer's "Download the current Data Dictionary", or
``content=metadata&format=csv``) turned into ``content=metadata`` rows: a classic project.

The Designer's file heads its 18 columns with human names ("Variable / Field Name", ...); the
API's with the export names (``field_name``, ...). Both are accepted. Legacy names
(``select``, ``textarea``, validation ``date``, ``int``, ``float``...) are modernised by
:func:`worker.sandbox.project.build_project`, as REDCap's API does on export.
"""

from __future__ import annotations

import csv
from pathlib import Path

from worker.errors import ConfigError
from worker.sandbox.project import METADATA_COLUMNS

# The Designer's header names, in METADATA_COLUMNS order.
HUMAN_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
_BY_HEADER = {h.lower(): c for h, c in zip(HUMAN_COLUMNS, METADATA_COLUMNS, strict=True)} | {
    c: c for c in METADATA_COLUMNS
}
REQUIRED = ("field_name", "form_name", "field_type", "field_label")


def read_dictionary(path: Path) -> list[dict[str, str]]:
    """The dictionary's rows as ``content=metadata`` rows; a bad file is one ConfigError."""
    try:
        # utf-8-sig: Excel, and REDCap itself, may put a byte-order mark first.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read data dictionary {path}: {exc}") from None
    if not table:
        raise ConfigError(f"data dictionary {path} is empty")
    header = [_BY_HEADER.get(name.strip().lower(), "") for name in table[0]]
    missing = [HUMAN_COLUMNS[METADATA_COLUMNS.index(c)] for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(
            f"{path} is not a REDCap data dictionary: its header lacks "
            + ", ".join(repr(m) for m in missing)
        )
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise ConfigError(f"{path} line {number}: more cells than the header has columns")
        row = dict.fromkeys(METADATA_COLUMNS, "")
        for column, cell in zip(header, cells, strict=False):
            if column:
                row[column] = cell
        if not row["field_name"] or not row["form_name"]:
            raise ConfigError(f"{path} line {number}: a field needs a name and a form name")
        rows.append(row)
    if not rows:
        raise ConfigError(f"data dictionary {path} defines no fields")
    return rows
