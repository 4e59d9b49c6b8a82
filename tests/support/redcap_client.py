"""Helpers for the REDCap client tests: a mocked API (``responses``), fake time, and small
data dictionaries. No test sleeps for real or talks to anything but loopback."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import parse_qsl

import requests
import responses
from responses import matchers

from worker.sandbox.project import METADATA_COLUMNS

URL = "https://redcap.example.org/api/"
# Distinctive, so a leak is easy to spot; 32 letters and digits like a real project token.
TOKEN = "5EC12E7A" * 4


def field(name: str, form: str, field_type: str = "text", **extra: str) -> dict[str, str]:
    """A data-dictionary row with all 18 columns REDCap exports."""
    row = dict.fromkeys(METADATA_COLUMNS, "")
    row.update(field_name=name, form_name=form, field_type=field_type, field_label=name)
    row.update(extra)
    return row


CLASSIC_METADATA = [
    field("study_id", "demographics"),
    field("sex", "demographics", "radio", select_choices_or_calculations="1, Male | 2, Female"),
    field("dob", "demographics", text_validation_type_or_show_slider_number="date_ymd"),
    field("visit_date", "visit", text_validation_type_or_show_slider_number="date_ymd"),
    field("sbp", "visit", text_validation_type_or_show_slider_number="integer"),
]
CLASSIC_INSTRUMENTS = [
    {"instrument_name": "demographics", "instrument_label": "Demographics"},
    {"instrument_name": "visit", "instrument_label": "Visit"},
]


def project_info(*, longitudinal: bool, repeating: bool, project_id: int = 17) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "project_title": "Test project",
        "in_production": 0,
        "is_longitudinal": int(longitudinal),
        "has_repeating_instruments_or_events": int(repeating),
        "missing_data_codes": "",
    }


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def reply(
    api: responses.RequestsMock,
    content: str,
    body: Any = None,
    *,
    status: int = 200,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw: str | BaseException | None = None,
    content_type: str = "application/json",
    request_kwargs: dict[str, Any] | None = None,
) -> None:
    """Register one REDCap reply to a POST whose form has ``content`` (and ``params``;
    and was sent with ``request_kwargs``, e.g. the timeout)."""
    match = [
        matchers.urlencoded_params_matcher(
            {"content": content, **(params or {})}, strict_match=False
        )
    ]
    if request_kwargs is not None:
        match.append(matchers.request_kwargs_matcher(request_kwargs))
    if isinstance(raw, BaseException):
        api.add(responses.POST, URL, body=raw, match=match)
        return
    if raw is None and content == "record" and _rows(body):
        # A record export answers in the format the request asks for (the record-ID
        # listing reads CSV).
        rows: list[dict[str, Any]] = body

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            asked = dict(parse_qsl(_text(request.body), keep_blank_values=True))
            if asked.get("format") == "csv":
                return status, {**(headers or {}), "Content-Type": "text/csv"}, csv_text(rows)
            return status, {**(headers or {}), "Content-Type": content_type}, json.dumps(rows)

        api.add_callback(responses.POST, URL, callback=answer, content_type=None, match=match)
        return
    text = raw if raw is not None else json.dumps(body)
    api.add(
        responses.POST,
        URL,
        body=text,
        status=status,
        headers=headers,
        content_type=content_type,
        match=match,
    )


def refuse_project_xml(api: responses.RequestsMock, **kw: Any) -> None:
    """This REDCap will not give the project XML (as an older one, or a stand-in without
    it): the client reads the structure from the separate exports."""
    error = '<error>The value of the parameter "content" is not valid</error>'
    reply(api, "project_xml", raw=error, status=400, content_type="text/xml", **kw)


def _rows(body: Any) -> bool:
    return isinstance(body, list) and all(isinstance(row, dict) for row in body)


def _text(body: Any) -> str:
    return body.decode() if isinstance(body, bytes) else body or ""


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Flat rows as REDCap's CSV export: a header of every column, then a line per row."""
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return out.getvalue()


def sent(call: Any) -> dict[str, str]:
    """The form fields of a recorded request."""
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    return dict(parse_qsl(body or "", keep_blank_values=True))


def contents(api: responses.RequestsMock) -> list[str]:
    """The ``content`` of every request made, in order."""
    return [sent(c)["content"] for c in api.calls]


def connection_refused() -> requests.ConnectionError:
    """What requests raises when nothing listens on the port: the request was never sent."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    message = "Failed to establish a new connection: [Errno 111] Connection refused"
    cause = NewConnectionError(None, message)  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, URL, cause))  # type: ignore[arg-type]


def connection_dropped() -> requests.ConnectionError:
    """What requests raises when the server closes the connection mid-request: the request
    may have been received and processed."""
    from http.client import RemoteDisconnected

    from urllib3.exceptions import ProtocolError

    return requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection"))
    )
