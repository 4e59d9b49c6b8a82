"""A REDCap project XML read as the API exports a project folder holds, and its records
(worker/sandbox/odm.py). How the sandbox then serves such a project is in
test_project_files.py; this is the reading itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.projects import TWO_ARM_XML
from worker.errors import ConfigError
from worker.sandbox.odm import missing_codes_text, read_odm, unique_group_name

ODM = "http://www.cdisc.org/ns/odm/v1.3"


def test_the_project_xml_gives_the_exports_of_a_project_folder() -> None:
    odm = read_odm(TWO_ARM_XML)
    assert set(odm.exports) >= {"project", "metadata", "arms", "events", "mapping", "repeating"}
    assert odm.exports["project"]["project_title"] == "Two-arm trial (sandbox fixture)"
    assert odm.exports["arms"] == [
        {"arm_num": 1, "name": "Active"},
        {"arm_num": 2, "name": "Control"},
    ]
    assert [e["unique_event_name"] for e in odm.exports["events"]][:2] == [
        "screening_arm_1",
        "baseline_arm_1",
    ]


def test_its_clinical_data_are_flat_export_rows_of_strings() -> None:
    rows = read_odm(TWO_ARM_XML).rows
    assert rows
    first = rows[0]
    assert (first["record_id"], first["redcap_event_name"]) == ("1", "screening_arm_1")
    assert all(isinstance(v, str) for row in rows for v in row.values())


def test_missing_codes_are_written_as_the_api_writes_them() -> None:
    assert missing_codes_text("UNK, Unknown\nNA, Not applicable\r\n") == (
        "UNK, Unknown | NA, Not applicable"
    )
    assert missing_codes_text("") == ""


def test_a_group_name_becomes_redcaps_unique_name() -> None:
    assert unique_group_name("  Site A (Nashville) ") == "site_a_nashville"


def test_an_xml_without_clinical_data_has_no_rows(tmp_path: Path) -> None:
    text = TWO_ARM_XML.read_text(encoding="utf-8")
    path = tmp_path / "design.xml"
    path.write_text(re.sub(r"<ClinicalData.*</ClinicalData>", "", text, flags=re.S), "utf-8")
    odm = read_odm(path)
    assert odm.rows == []
    assert odm.exports["metadata"] == read_odm(TWO_ARM_XML).exports["metadata"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<ODM><Study>", "is not well-formed XML"),
        ("<catalog/>", "is not a REDCap project XML file"),
        (f'<ODM xmlns="{ODM}"><Study OID="S"/></ODM>', "has no MetaDataVersion"),
    ],
)
def test_a_file_not_in_its_shape_is_one_config_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        read_odm(path)
    assert "\n" not in str(caught.value)
