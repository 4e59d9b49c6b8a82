"""read_project_xml: the structure REDCap's project XML holds, in the shapes of the exports it
stands for, and nothing guessed: anything unexpected is unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.core.schema import ProjectSchema
from worker.redcap_client.project_xml import UnreadableProjectXml, read_project_xml
from worker.sandbox.odm import read_odm

FIXTURE = Path(__file__).parents[1] / "fixtures" / "projects" / "two_arm_trial.REDCap.xml"
ODM_NS = 'xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org"'


def odm(globals_: str = "", meta: str = "", *, forms: tuple[str, ...] = ("enrollment",)) -> str:
    """A project XML with these GlobalVariables and MetaDataVersion children (one FormDef
    per form after them)."""
    form_defs = "".join(f'<FormDef OID="Form.{f}" redcap:FormName="{f}"/>' for f in forms)
    return (
        f'<?xml version="1.0" encoding="UTF-8" ?><ODM {ODM_NS}><Study OID="Project.x">'
        f"<GlobalVariables><StudyName>Toy</StudyName>{globals_}</GlobalVariables>"
        f'<MetaDataVersion OID="Metadata.x" redcap:RecordIdField="record_id">'
        f"{meta}{form_defs}</MetaDataVersion></Study></ODM>"
    )


def event(unique: str, arm: int, *forms: str) -> tuple[str, str]:
    """A Protocol reference and a StudyEventDef."""
    refs = "".join(f'<FormRef FormOID="Form.{f}" redcap:FormName="{f}"/>' for f in forms)
    return (
        f'<StudyEventRef StudyEventOID="Event.{unique}"/>',
        f'<StudyEventDef OID="Event.{unique}" redcap:UniqueEventName="{unique}" '
        f'redcap:EventName="{unique.title()}" redcap:ArmNum="{arm}">{refs}</StudyEventDef>',
    )


def events(*defs: tuple[str, str]) -> str:
    return "<Protocol>" + "".join(r for r, _ in defs) + "</Protocol>" + "".join(d for _, d in defs)


def metadata_rows(*fields: tuple[str, str]) -> list[dict[str, str]]:
    return [{"field_name": name, "form_name": form} for name, form in fields]


def test_a_two_arm_project_reads_as_its_separate_exports_do() -> None:
    """The bundled two-arm project, written in REDCap's format: the events, form-event
    mapping, repeating setup and missing-data codes are the exports the sandbox serves for it,
    and so is the structure the worker builds from them, but for the IDs the file lacks."""
    text = FIXTURE.read_text(encoding="utf-8")
    xml = read_project_xml(text)
    exports = read_odm(FIXTURE).exports

    assert xml.events == [
        {k: e[k] for k in ("unique_event_name", "event_name", "arm_num")} for e in exports["events"]
    ]
    assert xml.form_event_mapping == [
        {k: m[k] for k in ("arm_num", "unique_event_name", "form")} for m in exports["mapping"]
    ]
    assert xml.repeating == [
        {k: r[k] for k in ("event_name", "form_name")} for r in exports["repeating"]
    ]
    assert xml.contradiction(exports["metadata"]) is None
    from_xml = ProjectSchema.from_exports(
        project_info=xml.project_info,
        metadata=exports["metadata"],
        events=xml.events,
        form_event_mapping=xml.form_event_mapping,
        repeating=xml.repeating,
    )
    from_exports = ProjectSchema.from_exports(
        project_info=exports["project"],
        metadata=exports["metadata"],
        events=exports["events"],
        form_event_mapping=exports["mapping"],
        repeating=exports["repeating"],
    )
    without_ids = from_exports.model_copy(
        update={
            "project_id": None,
            "events": [e.model_copy(update={"event_id": None}) for e in from_exports.events],
        }
    )
    assert from_xml == without_ids
    assert from_xml.missing_codes == {"UNK": "Unknown", "NA": "Not applicable", "NASK": "Not asked"}
    assert from_xml.arms == [1, 2]


def test_a_classic_project_has_no_events_and_its_repeating_forms_no_event() -> None:
    """REDCap names a classic project's one event ``event_1_arm_1`` in the repeating setup;
    the repeating export (and so the structure) has none."""
    repeating = (
        "<redcap:RepeatingInstrumentsAndEvents><redcap:RepeatingInstruments>"
        '<redcap:RepeatingInstrument redcap:UniqueEventName="event_1_arm_1" '
        'redcap:RepeatInstrument="visits" redcap:CustomLabel=""/>'
        "</redcap:RepeatingInstruments></redcap:RepeatingInstrumentsAndEvents>"
    )
    xml = read_project_xml(odm(repeating, forms=("enrollment", "visits")))

    assert xml.events == []
    assert xml.form_event_mapping == []
    assert xml.project_info["is_longitudinal"] == 0
    assert xml.project_info["has_repeating_instruments_or_events"] == 1
    assert xml.repeating == [{"event_name": "", "form_name": "visits"}]


def test_repeating_events_and_instruments_in_a_longitudinal_project() -> None:
    repeating = (
        "<redcap:RepeatingInstrumentsAndEvents>"
        '<redcap:RepeatingEvent redcap:UniqueEventName="dosing_arm_1"/>'
        "<redcap:RepeatingInstruments>"
        '<redcap:RepeatingInstrument redcap:UniqueEventName="baseline_arm_1" '
        'redcap:RepeatInstrument="ae" redcap:CustomLabel="[ae_term]"/>'
        "</redcap:RepeatingInstruments></redcap:RepeatingInstrumentsAndEvents>"
    )
    meta = events(event("baseline_arm_1", 1, "enrollment", "ae"), event("dosing_arm_1", 1, "ae"))
    xml = read_project_xml(odm(repeating, meta, forms=("enrollment", "ae")))

    assert [e["unique_event_name"] for e in xml.events] == ["baseline_arm_1", "dosing_arm_1"]
    assert xml.repeating == [
        {"event_name": "dosing_arm_1", "form_name": ""},
        {"event_name": "baseline_arm_1", "form_name": "ae"},
    ]
    assert xml.contradiction(metadata_rows(("record_id", "enrollment"), ("ae_term", "ae"))) is None


def test_events_come_in_the_protocols_order_and_missing_codes_one_per_line() -> None:
    second, first = event("week_4_arm_1", 1, "enrollment"), event("screening_arm_1", 1)
    meta = f"<Protocol>{first[0]}{second[0]}</Protocol>{second[1]}{first[1]}"  # defs out of order
    codes = (
        "<redcap:MissingDataCodes>UNK, Unknown\r\nNA, Not applicable\n</redcap:MissingDataCodes>"
    )
    xml = read_project_xml(odm(codes, meta))

    assert [e["unique_event_name"] for e in xml.events] == ["screening_arm_1", "week_4_arm_1"]
    assert xml.project_info["missing_data_codes"] == "UNK, Unknown | NA, Not applicable"
    assert xml.project_info["project_title"] == "Toy"
    assert xml.record_id_field == "record_id"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not xml at all", "not XML"),
        ('{"error": "You do not have permissions"}', "not XML"),
        ("<records><item/></records>", "not ODM"),
        (odm(forms=()), "no FormDef"),
        (
            '<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY a "aaaa">]>' + odm()[21:],
            "DOCTYPE",
        ),
        (
            odm(meta=events(event("baseline_arm_1", 1))).replace('redcap:ArmNum="1"', ""),
            "arm number",
        ),
        (
            odm(meta=events(event("baseline_arm_1", 1))).replace("<StudyEventRef ", "<X "),
            "Protocol",
        ),
        (odm(meta=event("baseline_arm_1", 1)[1]), "Protocol"),
        (
            odm().replace("<GlobalVariables>", "<GlobalVariables/><GlobalVariables>"),
            "GlobalVariables",
        ),
    ],
)
def test_anything_unexpected_is_unreadable_rather_than_guessed(text: str, why: str) -> None:
    with pytest.raises(UnreadableProjectXml, match=why):
        read_project_xml(text)


@pytest.mark.parametrize(
    ("metadata", "contradiction"),
    [
        (metadata_rows(("record_id", "enrollment")), None),
        (metadata_rows(("record_id", "enrollment"), ("x", "visits")), "instruments"),
        (metadata_rows(("subject_id", "enrollment")), "record-ID field"),
    ],
)
def test_a_file_that_disagrees_with_the_data_dictionary_says_so(
    metadata: list[dict[str, str]], contradiction: str | None
) -> None:
    xml = read_project_xml(odm())
    found = xml.contradiction(metadata)
    if contradiction is None:
        assert found is None
    else:
        assert found is not None
        assert contradiction in found


def test_an_event_or_repeating_setup_naming_an_unknown_instrument_disagrees() -> None:
    mapped = read_project_xml(
        odm(meta=events(event("baseline_arm_1", 1, "labs")), forms=("enrollment",))
    )
    assert "instrument" in (mapped.contradiction(metadata_rows(("record_id", "enrollment"))) or "")

    repeating = (
        "<redcap:RepeatingInstrumentsAndEvents><redcap:RepeatingInstruments>"
        '<redcap:RepeatingInstrument redcap:UniqueEventName="event_1_arm_1" '
        'redcap:RepeatInstrument="labs"/></redcap:RepeatingInstruments>'
        "</redcap:RepeatingInstrumentsAndEvents>"
    )
    unknown = read_project_xml(odm(repeating))
    assert "repeating" in (unknown.contradiction(metadata_rows(("record_id", "enrollment"))) or "")
