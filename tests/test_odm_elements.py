"""Reading REDCap's project XML by local names (worker/odm_elements.py): the ODM namespace
in either spelling, REDCap's attributes with or without their prefix, and the missing-data
codes' layout."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from worker import odm_elements as odm

REDCAP = 'xmlns:redcap="https://projectredcap.org"'


@pytest.mark.parametrize("namespace", ["http://www.cdisc.org/ns/odm/v1.3", "https://x.example"])
def test_elements_are_found_by_local_name_whatever_the_namespace(namespace: str) -> None:
    root = ET.fromstring(
        f'<ODM xmlns="{namespace}" {REDCAP}><Study><A>one</A><B/><A>t<i>w</i>o</A></Study></ODM>'
    )
    study = odm.child(root, "Study")
    assert study is not None
    assert odm.local(root.tag) == "ODM"
    assert [odm.text(a) for a in odm.children(study, "A")] == ["one", "two"]
    assert odm.child(study, "C") is None
    assert odm.text(None) == ""


def test_attributes_are_found_with_or_without_the_redcap_prefix() -> None:
    element = ET.fromstring(f'<E {REDCAP} redcap:ArmNum="2" OID="Event.x"/>')
    assert odm.attr(element, "ArmNum") == "2"
    assert odm.attr(element, "OID") == "Event.x"
    assert odm.attr(element, "Missing") == ""


def test_missing_codes_one_per_line_read_as_the_project_info_gives_them() -> None:
    assert odm.missing_codes_text("UNK, Unknown\r\nNA, Not applicable\n\n") == (
        "UNK, Unknown | NA, Not applicable"
    )
    assert odm.missing_codes_text("") == ""
