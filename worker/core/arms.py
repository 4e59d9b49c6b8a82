"""A record's own arm, and which event a visit name means for it.

In a project with several arms a record lives in one of them (REDCap allows more, rarely):
the arms whose events hold its rows. A visit name (``baseline``) stands for the visit's
event in every arm; for one record it means the event of the record's own arm.
"""

from __future__ import annotations

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
