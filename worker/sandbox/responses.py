"""Turning answers into HTTP bodies the way REDCap does: json, csv (PHP ``fputcsv`` quoting),
xml, plain text, and error bodies in the request's return format."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "html": "text/html; charset=UTF-8",
}
CSV_DELIMITERS = {",": ",", "tab": "\t", ";": ";", "|": "|", "^": "^"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def error_response(status: int, message: str, return_format: str) -> Response:
    if return_format == "json":
        body = json.dumps({"error": message}, ensure_ascii=False)
    elif return_format == "csv":
        body = f"ERROR: {message}"
    else:
        return_format = "xml"
        body = (
            f'<?xml version="1.0" encoding="UTF-8" ?><hash><error>{escape(message)}</error></hash>'
        )
    return Response(status, body.encode("utf-8"), CONTENT_TYPES[return_format])


def text_response(text: str, kind: str = "text") -> Response:
    return Response(200, text.encode("utf-8"), CONTENT_TYPES[kind])


def json_response(value: Any) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError:
        # Text UTF-8 cannot carry (a lone surrogate, which a \ud800 escape in imported JSON
        # leaves): the answer escapes it, as PHP's json_encode escapes all but ASCII.
        data = json.dumps(value, separators=(",", ":")).encode("ascii")
    return Response(200, data, CONTENT_TYPES["json"])


def _csv_cell(value: Any, enclose: re.Pattern[str]) -> str:
    text = "" if value is None else str(value)
    if enclose.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> str:
    # PHP's fputcsv encloses a cell holding the delimiter, a quote, whitespace or a line
    # break; REDCap's CSV therefore quotes "Event 1" but not Event_1. One pattern for the
    # whole table: a record listing has tens of thousands of cells.
    enclose = re.compile("[" + re.escape(delimiter) + '"\n\r\t ]')
    lines = [delimiter.join(_csv_cell(h, enclose) for h in header)]
    lines.extend(delimiter.join(_csv_cell(v, enclose) for v in row) for row in rows)
    return "\n".join(lines) + "\n"


def _xml_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_text(rows: Iterable[Mapping[str, Any]], root: str = "records") -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', f"<{root}>"]
    for row in rows:
        parts.append("<item>")
        parts.extend(f"<{k}>{_xml_value(v)}</{k}>" for k, v in row.items())
        parts.append("</item>")
    parts.append(f"</{root}>")
    return "".join(parts)


def table_response(
    rows: Sequence[Mapping[str, Any]],
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    header: Sequence[str] | None = None,
    delimiter: str = ",",
) -> Response:
    """A list of rows in ``fmt``; ``columns`` fixes the CSV columns when there may be no rows."""
    if fmt == "json":
        return json_response(list(rows))
    if fmt == "csv":
        cols = list(columns) if columns is not None else list(rows[0]) if rows else []
        text = csv_text(header or cols, ([row.get(c, "") for c in cols] for row in rows), delimiter)
        # CSV has no escapes: text UTF-8 cannot carry (a lone surrogate) goes out as bytes
        # that are not UTF-8, as PHP hands out whatever it holds; a client decodes U+FFFD.
        return Response(200, text.encode("utf-8", "surrogatepass"), CONTENT_TYPES["csv"])
    return Response(200, xml_text(rows).encode("utf-8"), CONTENT_TYPES["xml"])


def object_response(obj: Mapping[str, Any], fmt: str) -> Response:
    """One object (``content=project``): a JSON object, a one-row CSV, or xml."""
    if fmt == "json":
        return json_response(dict(obj))
    if fmt == "csv":
        return table_response([obj], "csv")
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', "<items>"]
    parts.extend(f"<{k}>{_xml_value(v)}</{k}>" for k, v in obj.items())
    parts.append("</items>")
    return Response(200, "".join(parts).encode("utf-8"), CONTENT_TYPES["xml"])
