"""REDCap's project XML (``content=project_xml&returnMetadataOnly=true``: CDISC ODM 1.3.1 with
REDCap's ``redcap:`` extensions), read for the structure that checking needs beside the data
dictionary, in the shapes of the API exports it stands for: one request instead of the
project info, event, form-event mapping and repeating setup exports.

Where REDCap writes each fact:

- ``Study/GlobalVariables``: ``StudyName`` (the project title), ``redcap:MissingDataCodes``
  (one ``CODE, Label`` per line) and ``redcap:RepeatingInstrumentsAndEvents`` (absent
  without repeating setup): ``redcap:RepeatingInstrument`` with ``redcap:UniqueEventName`` and
  ``redcap:RepeatInstrument``, ``redcap:RepeatingEvent`` with ``redcap:UniqueEventName``; a
  classic project names its one event ``event_1_arm_1`` there.
- ``Study/MetaDataVersion``: ``redcap:RecordIdField``; ``Protocol/StudyEventRef`` (the events'
  order); a ``StudyEventDef`` per event (none in a classic project) with
  ``redcap:UniqueEventName``, ``redcap:EventName`` and ``redcap:ArmNum``, and a ``FormRef``
  (``redcap:FormName``) per form designated for it; a ``FormDef`` (``redcap:FormName``) per
  instrument, in the data dictionary's order.

What the file lacks (the project ID, event IDs, form labels) is what only links and people's
pages need; a run that needs them asks the project info and events exports for them. Anything
unexpected raises ``UnreadableProjectXml`` and the caller reads the separate exports
instead: a wrong guess here would be a wrong structure, so nothing is guessed. Namespaces
are matched on local names (:mod:`worker.odm_elements`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from worker import odm_elements as odm

Row = dict[str, Any]
CLASSIC_EVENT = "event_1_arm_1"


class UnreadableProjectXml(ValueError):
    """The answer is not a project XML this reader understands."""


@dataclass(frozen=True)
class ProjectXml:
    """The structure the file holds, as the API exports would give it."""

    project_info: Row  # project_title, is_longitudinal, has_repeating..., missing_data_codes
    events: list[Row]  # unique_event_name, event_name, arm_num
    form_event_mapping: list[Row]  # arm_num, unique_event_name, form
    repeating: list[Row]  # event_name, form_name (blank for a repeating event)
    forms: list[str]
    record_id_field: str | None

    def contradiction(self, metadata: Sequence[Row]) -> str | None:
        """What in this file disagrees with the data dictionary exported beside it (a
        project changed between the two requests, or a server that writes the file
        differently), or None."""
        forms = list(dict.fromkeys(str(row.get("form_name", "")) for row in metadata))
        if self.forms != forms:
            return "its instruments are not the data dictionary's"
        first = str(metadata[0].get("field_name", "")) if metadata else ""
        if self.record_id_field is not None and self.record_id_field != first:
            return "its record-ID field is not the data dictionary's first field"
        known = set(forms)
        if any(m["form"] not in known for m in self.form_event_mapping):
            return "an event names an instrument the data dictionary lacks"
        events = {e["unique_event_name"] for e in self.events}
        for r in self.repeating:
            if r["form_name"] and r["form_name"] not in known:
                return "a repeating instrument is not in the data dictionary"
            if r["event_name"] and r["event_name"] not in events:
                return "a repeating event is not among its events"
        return None


def _one(element: ET.Element, name: str) -> ET.Element:
    found = list(odm.children(element, name))
    if len(found) != 1:
        raise UnreadableProjectXml(f"expected one {name}, found {len(found)}")
    return found[0]


def _required(element: ET.Element, name: str) -> str:
    value = odm.attr(element, name)
    if not value:
        raise UnreadableProjectXml(f"{odm.local(element.tag)} without {name}")
    return value


def read_project_xml(text: str) -> ProjectXml:
    """The structure in REDCap's project XML; ``UnreadableProjectXml`` if it is not one."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        # REDCap writes neither; entity declarations are how XML bombs are built.
        raise UnreadableProjectXml("the document declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UnreadableProjectXml(f"not XML: {exc}") from None
    if odm.local(root.tag) != "ODM":
        raise UnreadableProjectXml(f"the root element is {odm.local(root.tag)!r}, not ODM")
    study = _one(root, "Study")
    globals_ = _one(study, "GlobalVariables")
    meta = _one(study, "MetaDataVersion")

    forms = [_required(f, "FormName") for f in odm.children(meta, "FormDef")]
    if not forms:
        raise UnreadableProjectXml("no FormDef: not a project's metadata")
    defs = {_required(e, "OID"): e for e in odm.children(meta, "StudyEventDef")}
    order: list[str] = []
    for protocol in odm.children(meta, "Protocol"):
        order += [
            _required(ref, "StudyEventOID") for ref in odm.children(protocol, "StudyEventRef")
        ]
    if sorted(order) != sorted(defs):
        raise UnreadableProjectXml("the Protocol's events are not the StudyEventDefs")
    events: list[Row] = []
    mapping: list[Row] = []
    for oid in order:
        event = defs[oid]
        unique = _required(event, "UniqueEventName")
        try:
            arm = int(_required(event, "ArmNum"))
        except ValueError:
            raise UnreadableProjectXml(f"event {unique!r} has no arm number") from None
        events.append(
            {
                "unique_event_name": unique,
                "event_name": odm.attr(event, "EventName") or unique,
                "arm_num": arm,
            }
        )
        mapping += [
            {"arm_num": arm, "unique_event_name": unique, "form": _required(ref, "FormName")}
            for ref in odm.children(event, "FormRef")
        ]
    longitudinal = bool(events)

    repeating: list[Row] = []
    for setup in odm.children(globals_, "RepeatingInstrumentsAndEvents"):
        for element in setup.iter():
            kind = odm.local(element.tag)
            if kind not in ("RepeatingInstrument", "RepeatingEvent"):
                continue
            # A classic project's one event is named here, but its repeating export has none.
            event_name = _required(element, "UniqueEventName") if longitudinal else ""
            form = _required(element, "RepeatInstrument") if kind == "RepeatingInstrument" else ""
            if not longitudinal and not form:
                raise UnreadableProjectXml("a repeating event in a project without events")
            repeating.append({"event_name": event_name, "form_name": form})

    info: Row = {
        "project_title": odm.text(odm.child(globals_, "StudyName")),
        "is_longitudinal": int(longitudinal),
        "has_repeating_instruments_or_events": int(bool(repeating)),
        "missing_data_codes": odm.missing_codes_text(
            odm.text(odm.child(globals_, "MissingDataCodes"))
        ),
    }
    return ProjectXml(
        project_info=info,
        events=events,
        form_event_mapping=mapping,
        repeating=repeating,
        forms=forms,
        record_id_field=odm.attr(meta, "RecordIdField") or None,
    )
