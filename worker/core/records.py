"""Flat REDCap export rows, keyed the way the checks address them.

REDCap's row order is not a contract, so rows are keyed by
(record, event, repeat instrument, instance) and never read positionally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from worker.core.schema import ProjectSchema

PSEUDO_FIELDS = frozenset(
    {
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
    }
)


class RowKey(NamedTuple):
    """Where a row lives. ``repeat_instrument`` is ``""`` on base rows and on rows of a
    repeating event; ``instance`` is ``None`` on rows that do not repeat.

    A named tuple: every row lookup hashes one, and a tuple hashes and compares in C."""

    event: str | None
    repeat_instrument: str
    instance: int | None


@dataclass
class RecordData:
    """All exported rows of one record, by where they live. Values are REDCap's raw strings."""

    record_id: str
    rows: dict[RowKey, dict[str, str]] = field(default_factory=dict)
    data_access_group: str = ""

    def row(
        self, event: str | None, instance: int | None = None, repeat_instrument: str = ""
    ) -> dict[str, str] | None:
        return self.rows.get(RowKey(event, repeat_instrument, instance))

    def value(
        self,
        column: str,
        event: str | None,
        instance: int | None = None,
        repeat_instrument: str = "",
    ) -> str:
        """A raw value, ``""`` where the row or column is absent."""
        row = self.row(event, instance, repeat_instrument)
        return "" if row is None else row.get(column, "")

    def instances(self, event: str | None, repeat_instrument: str = "") -> list[int]:
        """Instance numbers present for a repeating event or instrument, ascending."""
        return sorted(
            k.instance
            for k in self.rows
            if k.event == event and k.repeat_instrument == repeat_instrument and k.instance
        )


def group_rows(schema: ProjectSchema, rows: Iterable[Mapping[str, Any]]) -> dict[str, RecordData]:
    """Group flat export rows by record, preserving first-seen record order.

    Pseudo-fields become the key; every other value is kept as a string.
    """
    id_field = schema.record_id_field
    longitudinal = schema.is_longitudinal
    records: dict[str, RecordData] = {}
    for raw in rows:
        record_id = str(raw[id_field])
        record = records.get(record_id)
        if record is None:
            record = records[record_id] = RecordData(record_id)
        get = raw.get
        instance = get("redcap_repeat_instance")
        key = RowKey(
            (get("redcap_event_name") or None) if longitudinal else None,
            get("redcap_repeat_instrument") or "",
            None if instance in ("", None) else int(instance),
        )
        dag = get("redcap_data_access_group")
        if dag:
            record.data_access_group = str(dag)
        record.rows[key] = _values(raw)
    return records


def _values(raw: Mapping[str, Any]) -> dict[str, str]:
    """A row's data values as strings (``None`` -> ``""``), pseudo-fields left out, in order."""
    values = dict(raw)
    for name in PSEUDO_FIELDS:
        values.pop(name, None)
    # JSON from REDCap holds only strings: then the copy is the answer (joining them, done in
    # C, refuses anything else).
    try:
        "".join(values.values())
    except TypeError:
        return {k: "" if v is None else str(v) for k, v in values.items()}
    return values
