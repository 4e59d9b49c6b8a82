"""Where a sandbox project comes from (worker/sandbox/source.py): a folder of API exports, a
REDCap project XML or a data dictionary CSV; anything else, or a malformed file, is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import CLASSIC_CSV, DEMO_PROJECT, TWO_ARM_XML
from worker.errors import ConfigError
from worker.sandbox.source import is_project_file, open_project


def test_a_folder_of_exports_carries_no_data_of_its_own() -> None:
    source = open_project(DEMO_PROJECT)
    assert source.rows is None
    assert not source.is_file
    assert source.project.folder == DEMO_PROJECT.resolve()


def test_a_project_xml_carries_its_records() -> None:
    source = open_project(TWO_ARM_XML)
    assert source.is_file
    assert source.rows


def test_a_data_dictionary_is_a_classic_project_with_no_data() -> None:
    source = open_project(CLASSIC_CSV)
    assert source.is_file
    assert source.rows is None
    assert source.project.metadata


def test_project_files_are_told_by_their_suffix() -> None:
    assert is_project_file("trial.REDCap.XML")
    assert is_project_file(Path("dictionary.csv"))
    assert not is_project_file("demo/nk_trial")


def test_a_path_that_is_nothing_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is neither a folder nor a file"):
        open_project(tmp_path / "absent.xml")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cut.xml", '<?xml version="1.0"?><ODM><Study>', "is not well-formed XML"),
        ("other.xml", "<catalog><book/></catalog>", "is not a REDCap project XML file"),
        (
            "nometa.xml",
            '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study OID="x"/></ODM>',
            "has no MetaDataVersion",
        ),
        ("notes.csv", "name,age\nx,1\n", "is not a REDCap data dictionary"),
        ("empty.csv", "", "is empty"),
        ("notes.txt", "hello", "must be a folder of API exports"),
    ],
)
def test_a_malformed_file_is_one_config_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        open_project(path)
    assert "\n" not in str(caught.value)


def test_an_xml_that_contradicts_itself_is_one_config_error(tmp_path: Path) -> None:
    text = TWO_ARM_XML.read_text(encoding="utf-8")
    broken = tmp_path / "broken.REDCap.xml"
    broken.write_text(
        text.replace('redcap:RepeatInstrument="adverse_events"', 'redcap:RepeatInstrument="ae"', 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unknown form 'ae'"):
        open_project(broken)
