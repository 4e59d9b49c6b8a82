"""A REDCap data dictionary CSV read as ``content=metadata`` rows
(worker/sandbox/dictionary_csv.py): the Designer's header or the API's, one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import CLASSIC_CSV
from worker.errors import ConfigError
from worker.sandbox.dictionary_csv import HUMAN_COLUMNS, read_dictionary
from worker.sandbox.project import METADATA_COLUMNS
from worker.sandbox.source import open_project

HEADER = ",".join(f'"{h}"' for h in HUMAN_COLUMNS[:5])


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "dictionary.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_rows_have_every_metadata_column_in_the_apis_names(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\nrecord_id,demo,,text,Record ID\nage,demo,,text,Age\n")
    rows = read_dictionary(path)
    assert [list(row) for row in rows] == [list(METADATA_COLUMNS)] * 2
    assert [(r["field_name"], r["form_name"], r["field_label"]) for r in rows] == [
        ("record_id", "demo", "Record ID"),
        ("age", "demo", "Age"),
    ]


def test_a_byte_order_mark_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n\n,,,,\nrecord_id,demo,,text,ID\n", "utf-8-sig")
    assert [r["field_name"] for r in read_dictionary(path)] == ["record_id"]


def test_the_apis_snake_case_header_works_too(tmp_path: Path) -> None:
    lines = CLASSIC_CSV.read_text(encoding="utf-8").splitlines()
    api_csv = tmp_path / "metadata.csv"
    api_csv.write_text("\n".join([",".join(METADATA_COLUMNS), *lines[1:]]), encoding="utf-8")
    assert open_project(api_csv).project.metadata == open_project(CLASSIC_CSV).project.metadata


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ('"Variable / Field Name","Form Name"\nx,y\n', "its header lacks 'Field Type'"),
        (HEADER + "\nrecord_id,demo,,text,ID,extra,,,,,,,,,,,,,too many\n", "line 2: more cells"),
        (HEADER + "\n,demo,,text,No name\n", "line 2: a field needs a name and a form name"),
        (HEADER + "\n", "defines no fields"),
    ],
)
def test_a_bad_dictionary_is_one_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        read_dictionary(write(tmp_path, text))
    assert "\n" not in str(caught.value)
