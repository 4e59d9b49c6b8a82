"""A record's own arm, and which event a visit name means for it.

In a project with several arms a record lives in one of them (REDCap allows more, rarely):
the arms whose events hold its rows. A visit name (``baseline``) stands for the visit's
event in every arm; for one record it means the event of the record's own arm.
"""

from __future__ import annotations

from worker.core.mapping import PartEntry, Participant
from worker.core.records import RecordData
from worker.core.schema import ProjectSchema


def arms_of_record(schema: ProjectSchema, record: RecordData) -> list[int]:
    """The arms whose events hold rows of ``record``, ascending (``[]`` for none)."""
    arms = {schema.arm_of(key.event) for key in record.rows}
    return sorted(arm for arm in arms if arm is not None)


def own_event(schema: ProjectSchema, name: str, record: RecordData) -> str | None:
    """The event ``name`` (an event or a visit) stands for in the record's own arm: the
    first of its arms that has it; None when none of them does."""
    for arm in arms_of_record(schema, record):
        event = schema.event_in_arm(name, arm)
        if event is not None:
            return event
    return None


def record_arm(schema: ProjectSchema, record: RecordData) -> int | None:
    """The record's own arm (the first, for a record in several); None for a record with no
    rows in any event."""
    return next(iter(arms_of_record(schema, record)), None)


def participant_arm(schema: ProjectSchema, participant: Participant) -> int | None:
    """The arm of the first event a participant's parts hold data in; None if none does."""
    for value in participant.__dict__.values():
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, PartEntry) and (arm := schema.arm_of(entry.event)) is not None:
                return arm
    return None
