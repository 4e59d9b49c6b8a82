"""``content=record``: export, import and delete, translated from request parameters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from worker.sandbox.access import LOCKED_RECORD
from worker.sandbox.context import Context
from worker.sandbox.errors import bad_request
from worker.sandbox.export import (
    ExportOptions,
    build_rows,
    header_labels,
    returned_records,
    validate_filters,
)
from worker.sandbox.importing import (
    ImportOptions,
    decode_csv_rows,
    decode_json_rows,
    plan_import,
)
from worker.sandbox.responses import (
    CONTENT_TYPES,
    CSV_DELIMITERS,
    Response,
    csv_text,
    json_response,
    table_response,
    xml_text,
)

DATE_RANGE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
RETURN_CONTENTS = ("count", "ids", "auto_ids", "nothing")
NOT_AN_ARRAY = (
    "Incorrect format for 'records' parameter. It must be passed as an array, even if it only "
    "contains a single record name."
)


def _date_param(ctx: Context, name: str) -> datetime | None:
    text = ctx.params.get(name).strip()
    if not text:
        return None
    normal = text.replace("T", " ").replace("/", "-")
    for pattern in DATE_RANGE_FORMATS:
        try:
            return datetime.strptime(normal, pattern)
        except ValueError:
            continue
    raise bad_request(
        f'The value of the parameter "{name}" is not a valid date/time. '
        "Use the format YYYY-MM-DD HH:MM:SS."
    )


def visible_rows(ctx: Context, options: ExportOptions) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows a record export with ``options`` gives this token: the filters
    checked, the user's export rights applied; the request log learns what was returned."""
    validate_filters(ctx.project, options)
    columns, rows = build_rows(ctx.project, ctx.store, options)
    hidden = ctx.access.hidden
    if hidden:  # the user's export rights: REDCap leaves these columns out, silently
        columns = [c for c in columns if c not in hidden]
        rows = [{k: v for k, v in row.items() if k not in hidden} for row in rows]
    ctx.facts["records_returned"] = tuple(returned_records(rows, ctx.project))
    ctx.facts["rows_returned"] = len(rows)
    return columns, rows


def export_records(ctx: Context) -> Response:
    p = ctx.params
    fmt = p.format(allow_odm=True)
    decimal = p.get("decimalCharacter")
    options = ExportOptions(
        records=p.list("records"),
        fields=p.list("fields"),
        forms=p.list("forms"),
        events=p.list("events"),
        raw_or_label="label" if p.get("rawOrLabel") == "label" else "raw",
        checkbox_labels=p.flag("exportCheckboxLabel"),
        export_dags=p.flag("exportDataAccessGroups"),
        blank_for_gray=p.flag("exportBlankForGrayFormStatus"),
        decimal_character=decimal if decimal in (",", ".") else "",
        date_begin=_date_param(ctx, "dateRangeBegin"),
        date_end=_date_param(ctx, "dateRangeEnd"),
    )
    ctx.facts.update(
        records_requested=tuple(options.records) if options.records is not None else None,
        fields=tuple(options.fields) if options.fields else None,
        forms=tuple(options.forms) if options.forms else None,
        events=tuple(options.events) if options.events else None,
    )
    # Refuse what the sandbox does not emulate rather than quietly ignore it.
    if fmt == "odm":
        raise bad_request("The REDCap sandbox does not export format=odm.")
    if p.get("type") == "eav":
        raise bad_request("The REDCap sandbox exports records only as type=flat.")
    if p.get("filterLogic").strip():
        raise bad_request("The REDCap sandbox does not evaluate filterLogic.")
    columns, rows = visible_rows(ctx, options)
    header = header_labels(ctx.project, columns) if p.get("rawOrLabelHeaders") == "label" else None
    delimiter = CSV_DELIMITERS.get(p.get("csvDelimiter") or ",", ",")
    return table_response(rows, fmt, columns=columns, header=header, delimiter=delimiter)


def _import_result(kind: str, values: list[str], fmt: str) -> Response:
    if kind == "count":
        if fmt == "json":
            return json_response({"count": len(values)})
        body = str(len(values)) if fmt == "csv" else f"<count>{len(values)}</count>"
    elif fmt == "json":
        return json_response(values)
    elif fmt == "csv":
        header = ["id", "original_id"] if kind == "auto_ids" else ["id"]
        body = csv_text(header, (v.split(",", 1) for v in values))
    else:
        body = xml_text([{"id": v} for v in values], root="ids")
    return Response(200, body.encode("utf-8"), CONTENT_TYPES[fmt])


def import_records(ctx: Context) -> Response:
    p = ctx.params
    fmt = p.format()
    if p.get("type") == "eav":
        raise bad_request("The REDCap sandbox imports records only as type=flat.")
    if ctx.rows is not None:
        rows = ctx.rows
    elif fmt == "json":
        rows = decode_json_rows(p.get("data"))
    elif fmt == "csv":
        rows = decode_csv_rows(p.get("data"), CSV_DELIMITERS.get(p.get("csvDelimiter") or ",", ","))
    else:
        raise bad_request(f"The REDCap sandbox imports records only as json or csv, not {fmt}.")
    ctx.facts["rows_sent"] = len(rows)
    force = p.flag("forceAutoNumber")
    kind = p.get("returnContent") if p.get("returnContent") in RETURN_CONTENTS else "count"
    if kind == "auto_ids" and not force:
        kind = "count"
    options = ImportOptions(
        overwrite=p.get("overwriteBehavior") == "overwrite",
        date_format=p.get("dateFormat") if p.get("dateFormat") in ("MDY", "DMY") else "YMD",
        force_auto_number=force,
    )
    store = ctx.store
    with store.lock:  # validate and write as one step: "new" instances depend on the data
        result = plan_import(ctx.project, store, rows, options)
        if ctx.access.locked_among(result.plan.records):
            ctx.facts["records_written"] = tuple(result.plan.records)
            # REDCap validates the whole request first: nothing of it is written.
            raise bad_request(LOCKED_RECORD)
        changed = store.apply(result.plan, overwrite=options.overwrite)
    ctx.facts["records_written"] = tuple(result.plan.records)
    ctx.facts["records_changed"] = tuple(changed)
    rf = p.return_format
    if p.flag("backgroundProcess"):
        return (
            json_response({"success": True})
            if rf == "json"
            else _import_result("count", result.plan.records, rf)
        )
    if kind == "nothing":
        return Response(200, b"", CONTENT_TYPES[rf])
    values = result.auto_ids if kind == "auto_ids" else result.plan.records
    return _import_result(kind, values, rf)


def delete_records(ctx: Context) -> Response:
    p, project, store = ctx.params, ctx.project, ctx.store
    if not p.is_array("records"):
        raise bad_request(NOT_AN_ARRAY)
    names = list(dict.fromkeys(r for r in p.arrays["records"] if r != ""))
    ctx.facts["records_written"] = tuple(names)
    event = p.get("event") or None
    form = p.get("instrument") or None
    instance_text = p.get("repeat_instance")
    if event is not None and event not in project.event_by_name:
        raise bad_request(f"The event '{event}' is not a valid unique event name.")
    if form is not None and form not in project.form_order:
        raise bad_request(f"The instrument '{form}' is not a valid instrument name.")
    if form is not None and project.is_longitudinal and event is None:
        raise bad_request("The 'event' parameter is required when deleting an instrument.")
    if instance_text and not instance_text.isdigit():
        raise bad_request("The 'repeat_instance' parameter must be an integer.")
    arm = p.get("arm")
    if arm and len(project.arms) > 1:
        raise bad_request("The REDCap sandbox does not delete by arm in multi-arm projects.")
    if not names:
        raise bad_request(NOT_AN_ARRAY)
    with store.lock:
        missing = [n for n in names if n not in store]
        if missing:
            raise bad_request(
                "One or more of the records provided cannot be deleted because they do not "
                "exist in the project. The following records do not exist: " + ", ".join(missing)
            )
        count = store.delete(
            names, event=event, form=form, instance=int(instance_text) if instance_text else None
        )
    ctx.facts["records_changed"] = tuple(names)
    rf = p.return_format
    body = json.dumps(count) if rf in ("json", "csv") else f"<count>{count}</count>"
    return Response(200, body.encode("utf-8"), CONTENT_TYPES[rf])


def dispatch(ctx: Context) -> Response:
    action = ctx.facts.get("action", "export")
    if action == "import":
        return import_records(ctx)
    if action == "delete":
        return delete_records(ctx)
    if action == "export":
        return export_records(ctx)
    raise bad_request(f"The REDCap sandbox does not implement action={action} for records.")
