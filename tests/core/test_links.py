"""Links into REDCap's data entry form, built from the version, project and event IDs."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.support.nk_trial import schema
from worker.core.links import DataEntryLinks, redcap_base_url
from worker.core.schema import ProjectSchema

BASE = "https://redcap.example.org"


def project(version: str | None = "15.7.6") -> ProjectSchema:
    return schema().model_copy(update={"redcap_version": version, "project_id": 4107})


def test_a_form_link_has_version_project_record_event_and_page() -> None:
    url = DataEntryLinks(BASE, project()).form("5", "fu_m4_arm_1", "menstrual_blood_analysis", None)
    assert url == (
        "https://redcap.example.org/redcap_v15.7.6/DataEntry/index.php"
        "?pid=4107&id=5&event_id=105&page=menstrual_blood_analysis"
    )


def test_a_repeating_row_adds_its_instance() -> None:
    url = DataEntryLinks(BASE, project()).form("8", "treatment_arm_1", "infusion", 4)
    assert url is not None
    assert url.endswith("&event_id=101&page=infusion&instance=4")


def test_record_ids_are_url_encoded() -> None:
    url = DataEntryLinks(BASE, project()).form("A 1&2", "treatment_arm_1", "infusion", None)
    assert url is not None
    assert "id=A+1%262" in url


def test_no_link_rather_than_a_wrong_one() -> None:
    links = DataEntryLinks(BASE, project())
    assert links.form("5", "no_such_event", "infusion", None) is None
    assert links.form("5", "treatment_arm_1", None, None) is None
    assert DataEntryLinks(BASE, project(version=None)).form("5", None, "infusion", None) is None
    assert DataEntryLinks(None, project()).form("5", None, "infusion", None) is None


def test_the_base_url_defaults_to_the_api_url_without_api() -> None:
    api = "https://redcap.example.org/api/"
    assert redcap_base_url(None, api) == "https://redcap.example.org"
    assert redcap_base_url("https://redcap.example.org/site/", api) == (
        "https://redcap.example.org/site"
    )
    assert redcap_base_url(None, None) is None


def test_a_link_query_is_what_urlencode_writes() -> None:
    for record in ("5", "A 1&2", "é/ü?=#+%", "x y\tz"):
        url = DataEntryLinks(BASE, project()).form(record, "treatment_arm_1", "infusion", 3)
        assert url is not None
        params = [("pid", 4107), ("id", record), ("event_id", 101), ("page", "infusion")]
        assert url.split("?", 1)[1] == urlencode([*params, ("instance", 3)])
