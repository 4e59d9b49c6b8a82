"""Reading the worker's TOML files (worker/tomlfile.py): every way a file can be unreadable
is one line naming the file, raised as the caller's error class."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.errors import MappingError
from worker.tomlfile import read_toml


def read(path: Path) -> dict:
    return read_toml(path, "mapping file", MappingError)


def test_a_toml_document_is_read_as_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('study = "toy"\n[parts.a]\nevent = "e"\n', encoding="utf-8")
    assert read(path) == {"study": "toy", "parts": {"a": {"event": "e"}}}


def error_of(path: Path) -> str:
    with pytest.raises(MappingError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path / "absent.toml").startswith("mapping file not found: ")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    assert "is a folder, not a file" in error_of(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = tmp_path / "locked.toml"
    path.write_text("a = 1\n", encoding="utf-8")
    path.chmod(0)
    assert error_of(path).startswith("cannot read mapping file ")


def test_text_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Müller"\n'.encode("latin-1"))
    assert "is not UTF-8 text (byte 10): save it as UTF-8" in error_of(path)


def test_text_that_is_not_toml_is_refused_with_the_parsers_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("study = \n", encoding="utf-8")
    assert "is not valid TOML: " in error_of(path)
