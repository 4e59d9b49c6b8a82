"""One function per API ``content``: the project-design exports, logging, record names.

Record export, import and delete live in :mod:`worker.sandbox.records`. Every handler takes a
:class:`Context` and returns a :class:`Response` or raises :class:`ApiError`; handlers note
what the request log should know about the request in ``ctx.facts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.sandbox import records
from worker.sandbox.access import NO_API_EXPORT
from worker.sandbox.context import Context, Handler
from worker.sandbox.errors import ApiError, bad_request
from worker.sandbox.export import ExportOptions
from worker.sandbox.odm_export import project_xml
from worker.sandbox.params import RequestParams
from worker.sandbox.responses import (
    CONTENT_TYPES,
    Response,
    object_response,
    table_response,
    text_response,
)

REDCAP_VERSION = "15.7.6"

# REDCap 15.7.6's whitelist (docs/redcap-api-behaviour.md §1.1); anything else is a 400.
VALID_CONTENTS = frozenset(
    (
        "record", "metadata", "file", "fileRepository", "repeatingFormsEvents", "instrument",
        "event", "arm", "user", "project_settings", "report", "authkey", "version", "pdf",
        "surveyLink", "surveyAccessCode", "surveyQueueLink", "surveyReturnCode",
        "participantList", "exportFieldNames", "appRightsCheck", "formEventMapping",
        "fieldValidation", "attachment", "project", "generateNextRecordName", "project_xml",
        "dag", "userDagMapping", "log", "tableau", "mycap", "userRole", "userRoleMapping",
        "externalModule",
    )
)  # fmt: skip


def _classic_guard(ctx: Context, what: str) -> None:
    if not ctx.project.is_longitudinal:
        raise bad_request(f"You cannot export {what} for classic projects")


def _arm_filter(ctx: Context) -> set[int] | None:
    arms = ctx.params.list("arms")
    if arms is None:
        return None
    try:
        return {int(a) for a in arms}
    except ValueError:
        raise bad_request('The value of the parameter "arms" is not valid') from None


def version(ctx: Context) -> Response:
    return Response(200, REDCAP_VERSION.encode(), CONTENT_TYPES["csv"])


def project_info(ctx: Context) -> Response:
    info = ctx.project.project_info()
    drw = ctx.store.drw
    if drw.module_enabled:  # REDCap lists the prefixes of the modules enabled on the project
        enabled = [p for p in str(info.get("external_modules") or "").split(",") if p]
        info["external_modules"] = ",".join(dict.fromkeys([*enabled, drw.prefix]))
    return object_response(info, ctx.fmt)


def metadata(ctx: Context) -> Response:
    project = ctx.project
    fields, forms = ctx.params.list("fields"), ctx.params.list("forms")
    bad_fields = [f for f in fields or () if f not in project.fields]
    bad_forms = [f for f in forms or () if f not in project.form_order]
    for param, bad in (("fields", bad_fields), ("forms", bad_forms)):
        if bad:
            quoted = ", ".join(f"'{b}'" for b in bad)
            raise bad_request(
                f'The following values in the parameter "{param}" are not valid: {quoted}'
            )
    rows = [
        row
        for row in project.metadata
        if (not fields and not forms)
        or row["field_name"] in (fields or ())
        or row["form_name"] in (forms or ())
    ]
    return table_response(rows, ctx.fmt, columns=list(project.metadata[0]))


def instruments(ctx: Context) -> Response:
    rows = [
        {"instrument_name": form, "instrument_label": ctx.project.form_labels[form]}
        for form in ctx.project.forms
    ]
    return table_response(rows, ctx.fmt, columns=["instrument_name", "instrument_label"])


def events(ctx: Context) -> Response:
    _classic_guard(ctx, "events")
    arms = _arm_filter(ctx)
    rows = [dict(e.raw) for e in ctx.project.events if arms is None or e.arm_num in arms]
    return table_response(rows, ctx.fmt)


def arms(ctx: Context) -> Response:
    _classic_guard(ctx, "arms")
    wanted = _arm_filter(ctx)
    with_events = {e.arm_num for e in ctx.project.events}  # REDCap omits arms without events
    rows = [
        {"arm_num": int(a["arm_num"]), "name": a.get("name", "")}
        for a in ctx.project.arms
        if int(a["arm_num"]) in with_events and (wanted is None or int(a["arm_num"]) in wanted)
    ]
    return table_response(rows, ctx.fmt, columns=["arm_num", "name"])


def form_event_mapping(ctx: Context) -> Response:
    _classic_guard(ctx, "form/event mappings")
    wanted = _arm_filter(ctx)
    rows: list[dict[str, Any]] = []
    for event in ctx.project.events:
        if wanted is not None and event.arm_num not in wanted:
            continue
        for form in ctx.project.mapping.get(event.unique_name, ()):
            rows.append(
                {"arm_num": event.arm_num, "unique_event_name": event.unique_name, "form": form}
            )
    if not rows:
        rows = [{"arm_num": "", "unique_event_name": "", "form": ""}]  # REDCap's placeholder
    return table_response(rows, ctx.fmt, columns=["arm_num", "unique_event_name", "form"])


def repeating_forms_events(ctx: Context) -> Response:
    project = ctx.project
    if not project.has_repeating:
        raise bad_request(
            "You cannot export repeating instruments and events because the project does not "
            "contain any repeating instruments and events"
        )
    rows: list[dict[str, Any]] = []
    for event in project.event_names:
        entries = [""] if event in project.repeating_events else []
        entries += sorted(
            project.repeating_forms.get(event, ()), key=project.form_order.__getitem__
        )
        for form in entries:
            row = {"event_name": event} if project.is_longitudinal else {}
            row["form_name"] = form
            row["custom_form_label"] = project.repeating_labels.get((event, form), "")
            rows.append(row)
    return table_response(rows, ctx.fmt)


def export_field_names(ctx: Context) -> Response:
    project = ctx.project
    wanted = ctx.params.get("field")
    statuses = {f"{form}_complete" for form in project.forms}
    if wanted and wanted not in project.fields and wanted not in statuses:
        raise bad_request("Invalid field")
    rows = []
    for name, column in project.columns.items():
        owner = column.field.name if column.field is not None else name
        if column.field is not None and column.field.type == "file":
            continue  # REDCap leaves file fields out (descriptive ones have no column at all)
        if wanted and owner != wanted:
            continue
        rows.append(
            {"original_field_name": owner, "choice_value": column.code, "export_field_name": name}
        )
    return table_response(
        rows, ctx.fmt, columns=["original_field_name", "choice_value", "export_field_name"]
    )


def generate_next_record_name(ctx: Context) -> Response:
    return text_response(ctx.store.next_record_name())


def data_access_groups(ctx: Context) -> Response:
    cols = ["data_access_group_name", "unique_group_name", "data_access_group_id"]
    rows = [{c: d.get(c, "") for c in cols} for d in ctx.project.dags]
    return table_response(rows, ctx.fmt, columns=cols)


def project_xml_export(ctx: Context) -> Response:
    """The whole project as REDCap's project XML; without ``returnMetadataOnly``, with the
    records a record export would give this token (``records``, ``fields``, ``events`` and
    ``exportDataAccessGroups`` narrow only the data; the metadata are always whole)."""
    p, project = ctx.params, ctx.project
    with_dags = p.flag("exportDataAccessGroups")
    rows = None
    if not p.flag("returnMetadataOnly"):
        if p.get("filterLogic").strip():
            raise bad_request("The REDCap sandbox does not evaluate filterLogic.")
        if p.flag("exportFiles") and any(f.type == "file" for f in project.fields.values()):
            raise bad_request("The REDCap sandbox does not export files (exportFiles).")
        fields = p.list("fields")
        if fields and project.record_id_field not in fields:
            fields = [project.record_id_field, *fields]  # ODM keys every record by its ID
        options = ExportOptions(
            records=p.list("records"),
            fields=fields,
            events=p.list("events"),
            export_dags=with_dags,
            blank_for_gray=True,  # a form never saved has no status to write
        )
        ctx.facts.update(
            records_requested=tuple(options.records) if options.records is not None else None,
            fields=tuple(p.list("fields") or ()) or None,
            events=tuple(options.events) if options.events else None,
        )
        _, rows = records.visible_rows(ctx, options)
    text = project_xml(
        project,
        rows,
        version=REDCAP_VERSION,
        now=ctx.store.now(),
        drw_enabled=ctx.store.drw.drw_enabled,
        with_dags=with_dags and rows is not None,
    )
    return Response(200, text.encode("utf-8"), CONTENT_TYPES["xml"])


LOG_ACTIONS = {"create": "Created Record", "update": "Updated Record", "delete": "Deleted Record"}
LOG_TYPES = {
    "record": {"create", "update", "delete"},
    "record_add": {"create"},
    "record_edit": {"update"},
    "record_delete": {"delete"},
}


def _minute(text: str, param: str) -> datetime | None:
    if not text:
        return None
    try:
        # REDCap reads only "YYYY-MM-DD HH:MM" (the first 16 characters).
        return datetime.strptime(text[:16], "%Y-%m-%d %H:%M")
    except ValueError:
        raise bad_request(
            f"The value of the parameter '{param}' is not a valid date/time"
        ) from None


def logging_export(ctx: Context) -> Response:
    """Record create/update/delete events only: the sandbox logs nothing else."""
    p = ctx.params
    logtype, user, record, dag = p.get("logtype"), p.get("user"), p.get("record"), p.get("dag")
    begin, end = _minute(p.get("beginTime"), "beginTime"), _minute(p.get("endTime"), "endTime")
    # Other log types (export, manage, user, page_view...) are never logged by the sandbox.
    kinds = LOG_TYPES.get(logtype, set()) if logtype else set(LOG_ACTIONS)
    dag_records = None
    if dag:
        ids = {
            str(d.get("data_access_group_id", "")): d["unique_group_name"] for d in ctx.project.dags
        }
        name = ids.get(dag, dag)
        with ctx.store.lock:
            dag_records = {r for r, rec in ctx.store.records.items() if rec.dag == name}
    rows = []
    with ctx.store.lock:
        entries = list(ctx.store.log)
    for e in reversed(entries):  # newest first, as REDCap's logging lists them
        ts = e.ts.replace(second=0)
        if e.kind not in kinds or (user and e.username != user) or (record and e.record != record):
            continue
        if (begin and ts < begin) or (end and ts > end):
            continue
        if dag_records is not None and e.record not in dag_records:
            continue
        rows.append(
            {
                "timestamp": e.ts.strftime("%Y-%m-%d %H:%M"),
                "username": e.username,
                "action": f"{LOG_ACTIONS[e.kind]} (API) {e.record}",
                "details": e.details,
                "record": e.record,
            }
        )
    ctx.facts["records_returned"] = tuple(dict.fromkeys(r["record"] for r in rows))
    return table_response(
        rows, ctx.fmt, columns=["timestamp", "username", "action", "details", "record"]
    )


HANDLERS: dict[str, Handler] = {
    "version": version,
    "project": project_info,
    "metadata": metadata,
    "instrument": instruments,
    "event": events,
    "arm": arms,
    "formEventMapping": form_event_mapping,
    "repeatingFormsEvents": repeating_forms_events,
    "exportFieldNames": export_field_names,
    "generateNextRecordName": generate_next_record_name,
    "dag": data_access_groups,
    "log": logging_export,
    "project_xml": project_xml_export,
    "record": records.dispatch,
}
# Contents whose action is explicit (default export); for the others data means import.
EXPLICIT_ACTION = frozenset({"event", "arm", "dag", "user", "userRole", "userRoleMapping"})


def resolve_action(params: RequestParams) -> str:
    content = params.content
    if content == "record" and params.get("action") in ("delete", "rename", "randomize"):
        return params.get("action")
    if content in EXPLICIT_ACTION:
        return params.get("action") or "export"
    return "import" if params.has("data") else "export"


def dispatch(ctx: Context) -> Response:
    content = ctx.params.content
    if content not in VALID_CONTENTS:
        raise bad_request('The value of the parameter "content" is not valid')
    action = resolve_action(ctx.params)
    ctx.facts["action"] = action
    if action == "export" and not ctx.access.api_export:
        raise ApiError(403, NO_API_EXPORT)
    handler = HANDLERS.get(content)
    if handler is None or (content != "record" and action != "export"):
        raise bad_request(
            f"The REDCap sandbox does not implement content={content} with action={action}."
        )
    return handler(ctx)
