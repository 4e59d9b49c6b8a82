"""The Data Quality API external module's two pages (``vanderbilt_dataQuality``), as the
sandbox serves them: ``POST /api/?prefix=..&page=export|import&type=module&NOAUTH&pid=N``.

What REDCap's module does, and so what this does (docs/redcap-api-behaviour.md §8):

- export: every DRW status of the project (filters ``record``, a value or an array,
  ``user``: the assigned user, ``status``: ``OPEN`` includes statuses without one), as a JSON
  object keyed by status ID with the resolutions keyed by resolution ID, or ``[]``. Statuses
  of fields no longer in the data dictionary are left out. Numbers come as strings.
- import: only appends resolutions. 403 unless the project has the DRW enabled. A row is
  skipped when its field or event is unknown (a classic project's one event is taken
  whatever the row says), a value is blank, or ``project_id`` is not the project's. The
  status is found by its ID or by record, event, field and instance; a blank status ID makes
  REDCap's lookup query malformed, so such a row always creates a new status. A resolution
  whose ``ts`` and ``username`` equal an existing one's is skipped. The status's
  ``query_status`` follows the last resolution when the newest imported ``ts`` is later than
  the newest stored. The answer is the list of new resolution IDs.
- a wrong ``pid`` gets an empty answer; the token must be the project's.

Whether the module is enabled on the project (project info ``external_modules``) and
whether the project has the DRW on are switches (``Sandbox.drw_module``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from worker.sandbox.errors import ApiError
from worker.sandbox.params import RequestParams
from worker.sandbox.project import ProjectDef

PREFIX = "vanderbilt_dataQuality"
STATUSES = ("OPEN", "CLOSED", "VERIFIED", "DEVERIFIED")
RESPONSES = ("DATA_MISSING", "TYPOGRAPHICAL_ERROR", "CONFIRMED_CORRECT", "WRONG_SOURCE", "OTHER")
DRW_OFF = "Data may not be imported because the project does not have data quality enabled."
_TS = "%Y-%m-%d %H:%M:%S"


def _seconds(ts: Any) -> float | None:
    """PHP ``strtotime`` for REDCap's timestamps; None (false) when unreadable."""
    text = "" if ts is None else str(ts).strip()
    for fmt in (_TS, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            continue
    return None


def _digits(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


@dataclass
class DrwData:
    """The module's switches and the DRW tables (statuses with their resolutions)."""

    module_enabled: bool = False
    drw_enabled: bool = True
    prefix: str = PREFIX
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_status_id: int = 1
    next_res_id: int = 1

    def to_state(self) -> dict[str, Any]:
        return {
            "module_enabled": self.module_enabled,
            "drw_enabled": self.drw_enabled,
            "prefix": self.prefix,
            "statuses": list(self.statuses.values()),
            "next_status_id": self.next_status_id,
            "next_res_id": self.next_res_id,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DrwData:
        data = cls(
            module_enabled=bool(state.get("module_enabled", False)),
            drw_enabled=bool(state.get("drw_enabled", True)),
            prefix=str(state.get("prefix", PREFIX)),
            next_status_id=int(state.get("next_status_id", 1)),
            next_res_id=int(state.get("next_res_id", 1)),
        )
        data.statuses = {int(s["status_id"]): s for s in state.get("statuses", [])}
        return data

    # -- the tables --------------------------------------------------------------------

    def new_status(
        self, record: str, event_id: int, field_name: str, instance: int | None, assigned: Any
    ) -> int:
        status_id = self.next_status_id
        self.next_status_id += 1
        self.statuses[status_id] = {
            "status_id": status_id,
            "record": record,
            "event_id": event_id,
            "field_name": field_name,
            "instance": instance,
            "query_status": None,
            "assigned_username": assigned,
            "resolutions": [],
        }
        return status_id

    def find(self, record: str, event_id: int, field_name: str, instance: int | None) -> int | None:
        for sid, s in self.statuses.items():
            place = (s["record"], s["event_id"], s["field_name"], s["instance"])
            if place == (record, event_id, field_name, instance):
                return sid
        return None

    def add_resolution(
        self,
        status_id: int,
        *,
        ts: str,
        username: str,
        comment: str | None,
        response_requested: int = 0,
        response: str | None = None,
        current_query_status: str | None = None,
    ) -> int:
        res_id = self.next_res_id
        self.next_res_id += 1
        self.statuses[status_id]["resolutions"].append(
            {
                "res_id": res_id,
                "ts": ts,
                "username": username,
                "comment": comment,
                "response_requested": response_requested,
                "response": response,
                "current_query_status": current_query_status,
            }
        )
        return res_id


# -- the pages ------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def export_page(project: ProjectDef, data: DrwData, params: RequestParams) -> Any:
    records = params.list("record")
    user, status = params.get("user"), params.get("status")
    pid = str(project.info.get("project_id", 1))
    out: dict[str, Any] = {}
    for sid in sorted(data.statuses):
        s = data.statuses[sid]
        if s["field_name"] not in project.fields:
            continue  # REDCap joins the data dictionary: deleted fields drop out
        if records is not None and s["record"] not in records:
            continue
        if user and s["assigned_username"] != user:
            continue
        if status and not (
            s["query_status"] == status or (status == "OPEN" and s["query_status"] is None)
        ):
            continue
        row: dict[str, Any] = {
            "status_id": str(sid),
            "rule_id": None,
            "pd_rule_id": None,
            "non_rule": "1",
            "project_id": pid,
            "record": s["record"],
            "event_id": str(s["event_id"]),
            "field_name": s["field_name"],
            "repeat_instrument": None,
            "instance": _str(s["instance"]),
            "status": None,
            "exclude": "0",
            "query_status": s["query_status"],
            "group_id": None,
            "assigned_username": s["assigned_username"],
        }
        if s["resolutions"]:
            row["resolutions"] = {
                str(r["res_id"]): {
                    "res_id": str(r["res_id"]),
                    "status_id": str(sid),
                    "ts": r["ts"],
                    "response_requested": str(r["response_requested"]),
                    "response": r["response"],
                    "comment": r["comment"],
                    "current_query_status": r["current_query_status"],
                    "upload_doc_id": None,
                    "field_comment_edited": "0",
                    "username": r["username"],
                }
                for r in s["resolutions"]
            }
        out[str(sid)] = row
    return out or []


def _event_of(project: ProjectDef, event_id: Any) -> int | None:
    ids = [e.event_id for e in project.events] or [1]
    if not project.is_longitudinal:
        return ids[0]  # REDCap takes the classic project's one event, whatever was sent
    for known in ids:
        if str(event_id) == str(known):
            return known
    return None


def import_page(project: ProjectDef, data: DrwData, params: RequestParams) -> list[int]:
    if not data.drw_enabled:
        raise ApiError(403, DRW_OFF)
    try:
        rows = json.loads(params.get("data") or "null")
    except ValueError:
        rows = None
    if isinstance(rows, dict):
        rows = list(rows.values())  # PHP iterates an object's members alike
    if not isinstance(rows, list):
        raise ApiError(500, "Invalid argument supplied for foreach()")
    pid = str(project.info.get("project_id", 1))
    new_ids: list[int] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        record, field_name = _str(row.get("record")) or "", _str(row.get("field_name")) or ""
        project_id = _str(row.get("project_id")) or ""
        if field_name not in project.fields:
            continue
        event_id = _event_of(project, row.get("event_id"))
        if event_id is None or not record or not project_id or not field_name:
            continue
        if project_id != pid:
            continue
        status_id = _str(row.get("status_id")) or ""
        raw_instance = row.get("instance")
        instance = None if raw_instance in (None, "") else int(raw_instance)
        existing: int | None = None
        is_new = False
        if status_id.isdigit():  # a blank ID breaks REDCap's lookup query: nothing found
            by_id = data.statuses.get(int(status_id))
            by_place = data.find(record, event_id, field_name, instance)
            if by_place is not None and by_place != int(status_id):
                existing, is_new = by_place, True
            elif (
                by_id is not None
                and (by_id["record"], by_id["event_id"], by_id["field_name"])
                == (record, event_id, field_name)
                and (instance is None or by_id["instance"] == instance)
            ):
                existing = int(status_id)
        if existing is None:
            if not _digits(project_id):
                continue
            existing = data.new_status(
                record, event_id, field_name, instance, row.get("assigned_username")
            )
            is_new = True
        status = data.statuses[existing]
        resolutions = row.get("resolutions") or []
        if isinstance(resolutions, dict):
            resolutions = list(resolutions.values())
        resolutions = [r for r in resolutions if isinstance(r, dict)]
        resolutions.sort(key=lambda r: _seconds(r.get("ts")) or 0)
        seen = {(str(r["ts"]), r["username"]) for r in status["resolutions"]}
        db_ts = max((str(r["ts"]) for r in status["resolutions"]), default="")
        last_ts = ""
        res_status: str | None = None
        for res in resolutions:
            given = res.get("current_query_status")
            if given in STATUSES:
                res_status = given
            elif res.get("response_requested") in (1, "1", True) or res.get("response"):
                res_status = "OPEN"
            else:
                res_status = ""
            response = res.get("response") if res.get("response") in RESPONSES else ""
            res_sid = _str(res.get("status_id")) or ""
            if not is_new and res_sid and res_sid != str(existing):
                continue
            ts, username = _str(res.get("ts")) or "", _str(res.get("username")) or ""
            if (ts, username) in seen:
                continue
            last_ts = ts
            requested = res.get("response_requested")
            new_ids.append(
                data.add_resolution(
                    existing,
                    ts=ts,
                    username=username,
                    comment=_str(res.get("comment")),
                    response_requested=int(requested) if requested in (0, 1, "0", "1") else 0,
                    response=response or None,
                    current_query_status=res_status or None,
                )
            )
            seen.add((ts, username))
        newer = _seconds(last_ts) is not None and (
            _seconds(db_ts) is None or (_seconds(last_ts) or 0) > (_seconds(db_ts) or 0)
        )
        if last_ts and newer:
            status["query_status"] = res_status or None
    return new_ids
