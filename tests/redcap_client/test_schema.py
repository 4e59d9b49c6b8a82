"""schema(): the project's structure, asking REDCap only what the project has."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from responses import matchers
from structlog.testing import capture_logs

from tests.support.projects import DEMO_PROJECT, project_export, project_xml_text
from tests.support.projects import demo_export as demo
from tests.support.redcap_client import (
    CLASSIC_INSTRUMENTS,
    CLASSIC_METADATA,
    URL,
    contents,
    project_info,
    refuse_project_xml,
    reply,
    sent,
)
from tests.support.sandbox import write_classic_project
from worker.errors import RedcapRefused
from worker.redcap_client import RedcapClient

DESIGN_RIGHTS = (
    "Insufficient user privileges: You must have 'API Export' privileges and "
    "'Project Setup/Design' privileges in the project."
)


# Without labels, with the project XML refused: the data dictionary and the file, then the
# separate exports (the project info alone first; the data dictionary is read already).
EXPORTS_WITHOUT_LABELS = [
    "metadata",
    "project_xml",
    "project",
    "event",
    "formEventMapping",
    "repeatingFormsEvents",
]


def reply_longitudinal(
    api: responses.RequestsMock,
    *,
    repeating: object = None,
    labels: bool = True,
    project_xml: bool | None = False,
) -> None:
    """The demo project's exports; its project XML (``project_xml``), or REDCap's refusal of
    it (False: the structure comes from the separate exports), or nothing (None)."""
    if project_xml:
        reply_project_xml(api)
    elif project_xml is not None:
        refuse_project_xml(api)
    if labels:
        reply(api, "version", raw="15.7.6", content_type="text/csv")
        reply(api, "instrument", demo("instruments"))
    reply(api, "project", demo("project"))
    reply(api, "metadata", demo("metadata"))
    reply(api, "event", demo("events"))
    if project_xml:
        return  # the file holds the form-event mapping and the repeating setup
    reply(api, "formEventMapping", demo("form_event_mapping"))
    if repeating is None:
        reply(api, "repeatingFormsEvents", demo("repeating_forms_events"))
    else:
        reply(api, "repeatingFormsEvents", repeating, status=400)


def test_longitudinal_project(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """The project XML stands in for the form-event mapping and repeating exports; the
    project info and events are still asked for (they alone carry the project and event
    IDs), and the labels."""
    reply_longitudinal(api, project_xml=True)
    schema = make_client().schema()

    assert contents(api) == ["metadata", "project_xml", "project", "event", "instrument", "version"]
    assert schema.project_id == 4107
    assert schema.redcap_version == "15.7.6"
    assert schema.is_longitudinal
    assert schema.record_id_field == "record_id"
    assert schema.events[0].unique_name == "screening_arm_1"
    assert "enrollment" in schema.forms_of_event("screening_arm_1")
    assert "treatment_arm_1" in schema.repeating_events
    assert ("safety_arm_1", "adverse_event") in schema.repeating_forms
    assert schema.form_labels["enrollment"] == "Enrollment"


def test_a_classic_project_read_with_the_project_xml(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], tmp_path: Path
) -> None:
    """No events in the file: the events export, which REDCap refuses for a classic
    project (and logs as an API error), is not asked for."""
    folder = write_classic_project(tmp_path / "classic")
    reply_project_xml(api, project_xml_text(folder))
    reply(api, "metadata", project_export(folder, "metadata"))
    reply(api, "project", project_export(folder, "project"))
    reply(api, "instrument", project_export(folder, "instruments"))
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    schema = make_client().schema()

    assert contents(api) == ["metadata", "project_xml", "project", "instrument", "version"]
    assert not schema.is_longitudinal
    assert schema.event_names == [None]
    assert schema.repeating_forms == frozenset({(None, "visit")})
    assert schema.project_id == 77


def without_events(project_xml: str) -> str:
    """The file as it would be, were the project's events left out of it."""
    for element in ("StudyEventRef", "StudyEventDef", "RepeatingInstrumentsAndEvents"):
        project_xml = re.sub(
            rf"<((?:\w+:)?{element})\b[^>]*?(/>|>.*?</\1>)", "", project_xml, flags=re.DOTALL
        )
    return project_xml


def test_a_file_without_events_for_a_project_with_events_is_not_used(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """Its events would be taken on its word (a classic project's export is not asked
    for), so the project info's flag is the check: the separate exports are read."""
    reply_longitudinal(api, labels=False, project_xml=None)
    reply_project_xml(api, without_events(project_xml_text(DEMO_PROJECT)))
    with capture_logs() as logs:
        schema = make_client().schema(labels=False)

    assert schema.is_longitudinal
    said = [e["why"] for e in logs if e["event"].startswith("redcap project XML not used")]
    assert said == ["it has no events, but the project info says the project has"]


def test_without_the_project_xml_the_separate_exports_give_the_same_structure(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply_longitudinal(api, project_xml=True)
    with_xml = make_client().schema()
    asked = len(api.calls)
    reply_longitudinal(api)  # now refused
    without = make_client().schema()

    assert contents(api)[asked:] == [*EXPORTS_WITHOUT_LABELS, "instrument", "version"]
    assert without == with_xml


def test_checking_needs_no_labels_and_they_are_added_when_asked_for(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """Version and form labels are for people (links, summaries): ``check`` skips both. It
    reads the project info, though: its missing-data codes decide what is an answer."""
    reply_longitudinal(api)
    client = make_client()
    bare = client.schema(labels=False)
    assert contents(api) == EXPORTS_WITHOUT_LABELS
    assert bare.redcap_version is None
    assert bare.form_labels == {}
    assert bare.project_id == 4107
    assert bare.missing_codes == {}
    assert client.schema(labels=False) is bare  # read once

    labelled = client.schema()
    assert contents(api)[6:] == ["instrument", "version"]
    assert labelled.project_id == 4107
    assert labelled.title.startswith("dNK")
    assert labelled.redcap_version == "15.7.6"
    assert labelled.form_labels["enrollment"] == "Enrollment"
    assert labelled.fields == bare.fields
    assert contents(api).count("metadata") == 1
    assert contents(api).count("project") == 1


def test_the_missing_data_codes_come_from_the_project_info(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    info = project_info(longitudinal=False, repeating=False)
    reply(api, "project", {**info, "missing_data_codes": "UNK, Unknown | NA, Not applicable"})
    checkbox = {
        "field_name": "symptoms",
        "form_name": "visit",
        "field_type": "checkbox",
        "select_choices_or_calculations": "1, Fever | 2, Cough",
    }
    reply(api, "metadata", [*CLASSIC_METADATA, checkbox])
    refuse_project_xml(api)
    schema = make_client().schema(labels=False)

    assert schema.missing_codes == {"UNK": "Unknown", "NA": "Not applicable"}
    # REDCap exports one more column per code for every checkbox.
    assert schema.fields["symptoms"].export_names == [
        "symptoms___1",
        "symptoms___2",
        "symptoms___unk",
        "symptoms___na",
    ]
    assert contents(api) == ["metadata", "project_xml", "project"]


def test_a_structure_read_earlier_is_used_without_asking_again(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply_longitudinal(api)
    saved = make_client().schema()
    asked = len(api.calls)

    client = make_client()
    client.use_schema(saved)
    assert client.schema() is saved
    assert len(api.calls) == asked


def test_classic_project_asks_for_no_events(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """REDCap answers event exports of classic projects with an error, so we do not ask."""
    reply(api, "version", raw="14.0.2", content_type="text/csv")
    reply(api, "project", project_info(longitudinal=False, repeating=False))
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "instrument", CLASSIC_INSTRUMENTS)
    refuse_project_xml(api)
    schema = make_client().schema()

    assert contents(api) == ["metadata", "project_xml", "project", "instrument", "version"]
    assert not schema.is_longitudinal
    assert schema.event_names == [None]
    assert schema.forms_of_event(None) == ["demographics", "visit"]
    assert schema.record_id_field == "study_id"
    assert schema.repeating_forms == frozenset()


def test_classic_project_with_a_repeating_form(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    reply(api, "project", project_info(longitudinal=False, repeating=True))
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "instrument", CLASSIC_INSTRUMENTS)
    reply(api, "repeatingFormsEvents", [{"form_name": "visit", "custom_form_label": ""}])
    refuse_project_xml(api)
    schema = make_client().schema()

    assert "event" not in contents(api)
    assert schema.repeating_forms == frozenset({(None, "visit")})


def test_without_design_rights_the_repeating_setup_is_left_empty_and_said(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply_longitudinal(api, repeating={"error": DESIGN_RIGHTS})
    client = make_client()
    with capture_logs() as logs:
        schema = client.schema()

    assert schema.repeating_forms == frozenset()
    assert schema.repeating_events == frozenset()
    assert len(client.schema_warnings) == 1
    assert "Project Setup/Design" in client.schema_warnings[0]
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [
        "redcap repeating setup unavailable"
    ]
    # One call: a refusal is REDCap's answer, not a transient failure.
    assert contents(api).count("repeatingFormsEvents") == 1


def test_when_the_project_info_says_nothing_repeats_the_setup_is_not_asked_for(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """So a token without the design right meets no refusal and nothing is warned about."""
    reply(api, "project", {**demo("project"), "has_repeating_instruments_or_events": 0})
    reply(api, "metadata", demo("metadata"))
    reply(api, "event", demo("events"))
    reply(api, "formEventMapping", demo("form_event_mapping"))
    refuse_project_xml(api)
    client = make_client()
    with capture_logs() as logs:
        schema = client.schema(labels=False)

    assert schema.repeating_forms == frozenset()
    assert client.schema_warnings == []
    assert not [entry for entry in logs if entry["log_level"] == "warning"]
    assert "repeatingFormsEvents" not in contents(api)
    # The labels, asked for later, reuse that project info.
    reply(api, "instrument", demo("instruments"))
    reply(api, "version", raw="15.7.6", content_type="text/csv")
    assert client.schema().project_id == 4107
    assert contents(api).count("project") == 1


def test_other_refusals_of_the_repeating_setup_are_not_swallowed(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    # The refusal ends the read before the labels are asked for.
    reply_longitudinal(api, repeating={"error": "Something else went wrong"}, labels=False)
    with pytest.raises(RedcapRefused, match="Something else went wrong"):
        make_client().schema()


def test_schema_is_read_once_and_its_metadata_reused_by_exports(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply_longitudinal(api)
    reply(api, "record", [{"record_id": "1", "redcap_event_name": "screening_arm_1"}])
    client = make_client()
    first = client.schema()
    assert client.schema() is first
    assert client.record_ids() == ["1"]

    assert contents(api).count("metadata") == 1
    assert contents(api).count("project") == 1
    assert sent(api.calls[-1])["fields[0]"] == "record_id"


def test_old_redcap_without_the_flags_is_asked_and_its_classic_refusal_understood(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "version", raw="9.1.0", content_type="text/csv")
    reply(api, "project", {"project_id": 3, "project_title": "Old"})
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "instrument", CLASSIC_INSTRUMENTS)
    reply(api, "event", {"error": "You cannot export events for classic projects"}, status=400)
    message = (
        "You cannot export repeating instruments and events because the project does not "
        "contain any repeating instruments and events"
    )
    reply(api, "repeatingFormsEvents", {"error": message}, status=400)
    refuse_project_xml(api)
    schema = make_client().schema()
    assert not schema.is_longitudinal
    assert schema.repeating_forms == frozenset()


def test_version_and_project_info(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "version", raw="15.7.6\n", content_type="text/csv")
    reply(api, "project", demo("project"))
    client = make_client()
    assert client.version() == "15.7.6"
    assert client.version() == "15.7.6"  # cached
    assert client.project_info()["project_title"].startswith("dNK")
    assert client.requests_made == 2


@pytest.mark.parametrize("at_once", [1, 3])
def test_record_ids_listed_with_the_structure_are_used_by_the_next_full_export_only(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], at_once: int
) -> None:
    reply(api, "project", project_info(longitudinal=False, repeating=False))
    reply(api, "metadata", CLASSIC_METADATA)
    rows = [{"study_id": "1", "demographics_complete": "2", "visit_complete": "0"}]
    reply(api, "record", rows, params={"fields[0]": "study_id"})  # the listing
    reply(api, "record", rows, params={"records[0]": "1"})  # the batch
    refuse_project_xml(api)
    client = make_client(max_concurrent_requests=at_once)

    client.schema(labels=False, list_records=True)
    # The listing waits for the data dictionary it is built from: asked once, not twice
    # (and not before the project XML is known to be refused).
    assert sorted(contents(api)[:2]) == ["metadata", "project_xml"]
    assert contents(api)[2:] == ["project", "record"]
    assert list(client.iter_record_batches()) == [rows]
    assert contents(api)[2:] == ["project", "record", "record"]

    reply(api, "record", rows, params={"fields[0]": "study_id"})
    client.schema(labels=False, list_records=True)  # read already: no new listing
    list(client.iter_record_batches())
    assert contents(api)[5:] == ["record", "record"]  # the IDs listed again, then the batch


# -- the project XML: checking's structure in fewer requests -----------------------------------


def reply_project_xml(
    api: responses.RequestsMock, raw: str | None = None, *, status: int = 200
) -> None:
    """REDCap's answer to the project XML request: by default, the demo project's file."""
    text = project_xml_text(DEMO_PROJECT) if raw is None else raw
    reply(api, "project_xml", raw=text, status=status, content_type="text/xml; charset=utf-8")


@pytest.mark.parametrize("at_once", [1, 3])
def test_checking_reads_the_project_xml_with_the_data_dictionary_then_the_record_ids(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], at_once: int
) -> None:
    """Without labels or IDs, four exports (project info, events, form-event mapping,
    repeating setup) are one project XML, asked for together with the data dictionary; the
    listing waits for both. The structure is the one the separate exports give, but for the
    project and event IDs, which a later call asking for them reads."""
    reply_longitudinal(api, project_xml=True)
    rows = [{"record_id": "1"}]
    reply(api, "record", rows, params={"fields[0]": "record_id"})
    reply(api, "record", rows, params={"records[0]": "1"})
    client = make_client(max_concurrent_requests=at_once)

    lean = client.schema(labels=False, ids=False, list_records=True)
    assert list(client.iter_record_batches()) == [rows]  # the listing's IDs, in one batch
    assert sorted(contents(api)[:2]) == ["metadata", "project_xml"]
    assert contents(api)[2:] == ["record", "record"]
    assert sent(api.calls[contents(api).index("project_xml")])["returnMetadataOnly"] == "true"
    assert lean.project_id is None
    assert {e.event_id for e in lean.events} == {None}

    full = client.schema()
    # The project XML again, with the exports that carry the IDs; the data dictionary is
    # not asked for again.
    assert sorted(contents(api)[4:]) == ["event", "instrument", "project", "project_xml", "version"]
    assert full.project_id == 4107
    assert all(e.event_id is not None for e in full.events)
    without_ids = full.model_copy(
        update={
            "project_id": None,
            "events": [e.model_copy(update={"event_id": None}) for e in full.events],
            "redcap_version": None,
            "form_labels": {},
        }
    )
    assert lean == without_ids


def test_the_structure_is_handed_over_while_the_record_ids_are_still_coming(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """A check loads its study while REDCap builds the listing; the export waits for it.
    The listing is not given up with the structure read that started it: its retry, after
    the structure was handed over, is sent."""
    reply_project_xml(api)
    reply(api, "metadata", demo("metadata"))
    handed_over = threading.Event()
    answered_after_handover: list[bool] = []

    def listing(request: object) -> tuple[int, dict[str, str], str]:
        if not answered_after_handover:
            # Held until the structure is handed over (or, were the read to wait for the
            # listing, for long enough to tell), then a server error: asked again.
            answered_after_handover.append(handed_over.wait(timeout=10))
            return 503, {"Content-Type": "text/html"}, "<html>busy</html>"
        return 200, {"Content-Type": "text/csv"}, "record_id\n1\n"

    api.add_callback(
        responses.POST,
        URL,
        callback=listing,
        content_type=None,
        match=[matchers.urlencoded_params_matcher({"fields[0]": "record_id"}, strict_match=False)],
    )
    rows = [{"record_id": "1"}]
    reply(api, "record", rows, params={"records[0]": "1"})
    client = make_client(max_concurrent_requests=3)

    client.schema(labels=False, ids=False, list_records=True)
    handed_over.set()
    assert list(client.iter_record_batches()) == [rows]
    assert answered_after_handover == [True]
    assert contents(api)[2:] == ["record", "record", "record"]  # the listing twice, the batch


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            {"raw": "<error>You do not have permissions to use the API</error>", "status": 403},
            "the request failed",
        ),
        ({"raw": "<ODM><Study/></ODM>"}, "unreadable"),
        (
            {
                "raw": project_xml_text(DEMO_PROJECT).replace(
                    'redcap:FormName="enrollment"', 'redcap:FormName="enrolment"'
                )
            },
            "instruments",
        ),
    ],
)
def test_without_a_usable_project_xml_the_separate_exports_are_read_and_said(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    answer: dict[str, object],
    why: str,
) -> None:
    reply_longitudinal(api, labels=False, project_xml=None)
    reply_project_xml(api, **answer)  # type: ignore[arg-type]
    with capture_logs() as logs:
        schema = make_client().schema(labels=False, ids=False)

    # No listing was asked for; the data dictionary already read is not asked for again.
    assert contents(api) == EXPORTS_WITHOUT_LABELS
    assert schema == make_client().schema(labels=False)
    said = [e for e in logs if e["event"].startswith("redcap project XML not used")]
    assert len(said) == 1
    assert why in said[0]["why"]


def test_a_refused_data_dictionary_is_the_reads_error_and_nothing_more_is_asked(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", {"error": "You do not have permissions to use the API"}, status=403)
    with pytest.raises(RedcapRefused, match="permissions"):
        make_client().schema(labels=False, ids=False, list_records=True)
    assert contents(api) == ["metadata"]  # one request at a time: no project XML, no listing
