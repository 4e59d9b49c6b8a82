"""Check that a parsed REDCap answer has the shape its request returns.

A proxy or a half-dead PHP process can answer 200 with JSON that is not REDCap's (an empty
object, a list of strings). Such an answer is handled like an unparseable one: retried.
Messages name the shape, never the content.
"""

from __future__ import annotations

import re
from typing import Any

from worker.redcap_client.failures import UnexpectedResponse
from worker.redcap_client.record_ids import read_csv

_VERSION = re.compile(r"\d+(\.\d+)+")


def _list_of_objects(content: str, result: Any, *, non_empty: bool = False) -> None:
    if not isinstance(result, list) or not all(isinstance(row, dict) for row in result):
        raise UnexpectedResponse(f"{content}: expected a JSON array of objects")
    if non_empty and not result:
        raise UnexpectedResponse(f"{content}: expected at least one row")


def check_shape(payload: dict[str, Any], return_type: str, result: Any) -> None:
    """Raise ``UnexpectedResponse`` unless ``result`` fits the request in ``payload``."""
    content = str(payload.get("content", ""))
    if return_type == "file_map" or return_type == "empty_json":
        return
    if content == "version":
        if not isinstance(result, str) or not _VERSION.fullmatch(result.strip()):
            raise UnexpectedResponse("version: expected a version number like 15.7.6")
        return
    if payload.get("format") == "csv" and content == "record" and "data" not in payload:
        _csv_with_column(result, str(payload.get("fields[0]") or ""))
        return
    if payload.get("format") not in (None, "json") and "data" not in payload:
        return  # other csv/xml exports are text; nothing more to check
    if "data" in payload:  # an import: the answer depends on returnContent
        if return_type == "count_dict":
            if not isinstance(result, dict) or not isinstance(result.get("count"), int | str):
                raise UnexpectedResponse(f"{content} import: expected {{'count': N}}")
        elif return_type == "ids_list" and (
            not isinstance(result, list) or not all(isinstance(i, str | int) for i in result)
        ):
            raise UnexpectedResponse(f"{content} import: expected a JSON array of ids")
        return
    if content == "project":
        if not isinstance(result, dict) or "project_id" not in result:
            raise UnexpectedResponse("project: expected a JSON object with project_id")
        return
    if content == "metadata":
        _list_of_objects(content, result, non_empty=True)
        if not all("field_name" in row and "form_name" in row for row in result):
            raise UnexpectedResponse("metadata: rows lack field_name or form_name")
        return
    if return_type == "json":
        _list_of_objects(content, result)


def _csv_with_column(result: Any, column: str) -> None:
    """A CSV record export: blank (no records) or a header naming the field asked for first
    (the record-ID field, which every record export carries)."""
    if not isinstance(result, str):
        raise UnexpectedResponse("record: expected CSV text")
    if not column or not result.strip():
        return
    _, header = read_csv(result)
    if column not in header:
        raise UnexpectedResponse("record: the CSV header lacks the record-ID field")
