"""What the token's user may see and change, and what happens to the data between requests.

* Data export rights per form (REDCap 15's "Data Exports" column of the user rights, one
  right per instrument): ``full`` (Full Data Set), ``remove_identifiers`` (fields tagged as
  identifiers are left out), ``deidentified`` (identifiers, unvalidated text fields, notes
  fields and date/datetime fields are left out) and ``none`` (No Access: the whole form,
  its status included, is left out). REDCap leaves the columns out of record exports without
  a word; the record-ID field always comes. The data dictionary export is not affected.
* API Export (the "API Export" user right): without it every export is refused with a 403,
  "You do not have API Export privileges" (docs/redcap-api-behaviour.md §1.2, step 5).
* Locked records: an import touching one is refused as a whole with REDCap's locking
  message (REDCap validates the whole request before writing anything).
* Planned changes between requests: "after the Nth request from now, delete record X", the
  record deleted between a client's export and its write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from worker.sandbox.project import ProjectDef

EXPORT_RIGHTS = ("full", "remove_identifiers", "deidentified", "none")

NO_API_EXPORT = "You do not have API Export privileges"

LOCKED_RECORD = (
    "This field is located on a form that is locked. You must first unlock this form for "
    "this record."
)


def parse_export_right(spec: str) -> tuple[str, str]:
    """``FORM=RIGHT`` -> (form, right); ValueError naming the choices otherwise."""
    form, sep, right = spec.partition("=")
    form, right = form.strip(), right.strip().lower().replace("-", "_")
    right = {"de_identified": "deidentified", "no_access": "none"}.get(right, right)
    if not sep or not form or right not in EXPORT_RIGHTS:
        raise ValueError(
            f"export right {spec!r}: use FORM=RIGHT with RIGHT one of {', '.join(EXPORT_RIGHTS)}"
        )
    return form, right


def _is_free_text_or_date(row: Mapping[str, str]) -> bool:
    kind = row.get("field_type", "")
    validation = row.get("text_validation_type_or_show_slider_number", "")
    if kind == "notes":
        return True
    if kind != "text":
        return False
    return validation == "" or validation.startswith(("date_", "datetime_"))


def hidden_columns(project: ProjectDef, rights: Mapping[str, str]) -> frozenset[str]:
    """The export columns the given per-form rights leave out (forms not named: full)."""
    if not rights:
        return frozenset()
    id_field = project.record_id_field
    hidden_fields: set[str] = set()
    for row in project.metadata:
        name, right = row["field_name"], rights.get(row["form_name"], "full")
        if name == id_field or right == "full":
            continue
        identifier = row.get("identifier", "") == "y"
        if (
            right == "none"
            or (right == "remove_identifiers" and identifier)
            or (right == "deidentified" and (identifier or _is_free_text_or_date(row)))
        ):
            hidden_fields.add(name)
    return frozenset(
        column.name
        for column in project.columns.values()
        if (column.field is not None and column.field.name in hidden_fields)
        or (column.kind == "status" and rights.get(column.form) == "none")
    )


@dataclass
class _Planned:
    remaining: int
    action: Callable[[], None]


class Access:
    """The token user's export rights and the locked records, changeable while serving, and
    actions planned to run after a number of requests. Thread-safe."""

    def __init__(
        self,
        project: ProjectDef,
        *,
        export_rights: Mapping[str, str] | None = None,
        locked: Iterable[str] = (),
    ) -> None:
        self._project = project
        self._lock = threading.Lock()
        self._rights: dict[str, str] = {}
        self._hidden: frozenset[str] = frozenset()
        self._locked: set[str] = set(locked)
        self._api_export = True
        self._planned: list[_Planned] = []
        for form, right in (export_rights or {}).items():
            self.set_export_right(form, right)

    def set_export_right(self, form: str, right: str) -> None:
        if form not in self._project.form_order:
            raise ValueError(f"export right for {form!r}: the project has no such form")
        if right not in EXPORT_RIGHTS:
            raise ValueError(f"export right {right!r}: use one of {', '.join(EXPORT_RIGHTS)}")
        with self._lock:
            self._rights[form] = right
            self._hidden = hidden_columns(self._project, self._rights)

    @property
    def hidden(self) -> frozenset[str]:
        """Columns record exports leave out under the current rights."""
        with self._lock:
            return self._hidden

    def set_api_export(self, allowed: bool) -> None:
        with self._lock:
            self._api_export = allowed

    @property
    def api_export(self) -> bool:
        """Whether the token's user has the API Export right (REDCap: every export needs it)."""
        with self._lock:
            return self._api_export

    def lock_record(self, record: str) -> None:
        with self._lock:
            self._locked.add(str(record))

    def unlock_record(self, record: str) -> None:
        with self._lock:
            self._locked.discard(str(record))

    def locked_among(self, records: Iterable[str]) -> list[str]:
        with self._lock:
            return [r for r in dict.fromkeys(records) if r in self._locked]

    def after_requests(self, count: int, action: Callable[[], None]) -> None:
        """Run ``action`` once ``count`` more requests have been answered (logged)."""
        if count < 0:
            raise ValueError("the number of requests must be zero or more")
        if count == 0:
            action()
            return
        with self._lock:
            self._planned.append(_Planned(count, action))

    def request_done(self) -> None:
        """Called once per request, after it was processed and logged."""
        due: list[Callable[[], None]] = []
        with self._lock:
            for planned in self._planned:
                planned.remaining -= 1
                if planned.remaining == 0:
                    due.append(planned.action)
            self._planned = [p for p in self._planned if p.remaining > 0]
        for action in due:
            action()


def parse_delete_after(spec: str) -> tuple[int, str]:
    """``N:RECORD`` -> (N, record); ValueError otherwise."""
    count, sep, record = spec.partition(":")
    if not sep or not count.strip().isdigit() or not record.strip():
        raise ValueError(f"{spec!r}: use N:RECORD, e.g. 12:1003 (after the 12th request)")
    return int(count), record.strip()
