"""REDCap's per-value import checks, with its error wording.

The checks and their wording: docs/redcap-api-behaviour.md §2.11 and §3.2.

Written from REDCap's documented behaviour, not from the worker's own type checks: the sandbox
stands in for REDCap, so the two must not share a misunderstanding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from worker.sandbox.project import STATUS_CHOICES, Column

DATE_MESSAGE = (
    "Invalid date format. (NOTE: Dates must be imported here only in Y-M-D format, "
    "regardless of the specific date format designated for this field.)"
)
DATETIME_MESSAGE = (
    "Invalid datetime format. (NOTE: Datetimes must be imported here only in Y-M-D H:M{s} "
    "format, regardless of the specific date format designated for this field.)"
)
TIME_MESSAGES = {
    "time": "Time is not properly formatted as HH:MM (military format).",
    "time_hh_mm_ss": "Time is not properly formatted as HH:MM:SS (military format).",
    "time_mm_ss": "Time is not properly formatted as MM:SS.",
}

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$")
_DATETIME_SECONDS = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")
_SLASHED_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})((?: \d{2}:\d{2}(?::\d{2})?)?)$")
_TIMES = {
    "time": re.compile(r"^([01]\d|2[0-3]):[0-5]\d$"),
    "time_hh_mm_ss": re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"),
    "time_mm_ss": re.compile(r"^[0-5]\d:[0-5]\d$"),
}
_INTEGER = re.compile(r"^[-+]?\d+$")
_NUMBER = re.compile(r"^[-+]?[0-9]*\.?[0-9]+([eE][0-9]+)?$")
_NUMBER_DP = re.compile(r"^number_(\d)dp$")
_NUMBER_COMMA = re.compile(r"^[-+]?[0-9]*,?[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _is_calendar_date(y: str, m: str, d: str) -> bool:
    try:
        date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def _is_clock(h: str, mi: str, s: str = "00") -> bool:
    return int(h) < 24 and int(mi) < 60 and int(s) < 60


def to_ymd(value: str, date_format: str) -> str:
    """An MDY/DMY import value (slashes or dashes) in stored Y-M-D form; others unchanged."""
    match = _SLASHED_DATE.match(value)
    if date_format not in ("MDY", "DMY") or match is None:
        return value
    first, second, year, rest = match.groups()
    month, day = (first, second) if date_format == "MDY" else (second, first)
    return f"{year}-{int(month):02d}-{int(day):02d}{rest}"


def _check_temporal(kind: str, value: str) -> str | None:
    if kind == "date":
        m = _DATE.match(value)
        return None if m and _is_calendar_date(*m.groups()) else DATE_MESSAGE
    if kind == "datetime":
        m = _DATETIME.match(value)
        ok = m and _is_calendar_date(*m.groups()[:3]) and _is_clock(*m.groups()[3:])
        return None if ok else DATETIME_MESSAGE.format(s="")
    m = _DATETIME_SECONDS.match(value)
    ok = m and _is_calendar_date(*m.groups()[:3]) and _is_clock(*m.groups()[3:])
    return None if ok else DATETIME_MESSAGE.format(s=":S")


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:
        return None


def _check_text(column: Column, value: str) -> str | None:
    assert column.field is not None
    name, validation = column.field.name, column.field.validation
    kind = validation.split("_")[0]
    if validation.startswith("datetime_seconds"):
        error = _check_temporal("datetime_seconds", value)
    elif kind in ("date", "datetime"):
        error = _check_temporal(kind, value)
    elif validation in _TIMES:
        error = None if _TIMES[validation].match(value) else TIME_MESSAGES[validation]
    elif validation == "integer":
        error = None if _INTEGER.match(value) else f"The value of {name} must be an integer."
    elif validation == "number":
        error = None if _NUMBER.match(value) else f"The value of {name} must be numeric."
    elif dp := _NUMBER_DP.match(validation):
        pattern = rf"^[-+]?\d*\.\d{{{dp.group(1)}}}$"
        ok = re.match(pattern, value)
        error = None if ok else f"The value of {name} must be numeric with {dp.group(1)} decimals."
    elif validation.startswith("number") and validation.endswith("comma_decimal"):
        error = None if _NUMBER_COMMA.match(value) else f"The value of {name} must be numeric."
    elif validation == "email":
        error = None if _EMAIL.match(value) else "Email address is not properly formatted."
    else:
        error = None  # phone, zipcode, mrn...: REDCap checks them; the sandbox has no need to
    if error is None and "@FORCE-MINMAX" in column.field.annotation:
        error = _check_hard_range(column, value)
    return error


def _check_hard_range(column: Column, value: str) -> str | None:
    """Out-of-range is only a warning in REDCap unless the field uses @FORCE-MINMAX."""
    assert column.field is not None
    f = column.field
    numeric = f.validation == "integer" or f.validation.startswith("number")
    as_key: Callable[[str], Any] = _number if numeric else (lambda v: v)
    val = as_key(value)
    low = as_key(f.min) if f.min else None
    high = as_key(f.max) if f.max else None
    if val is not None and low is not None and val < low:
        return f"The value of {f.name} should not be less than the field minimum ({f.min})."
    if val is not None and high is not None and val > high:
        return f"The value of {f.name} should not be greater than the field maximum ({f.max})."
    return None


def check_value(column: Column, value: str, date_format: str = "YMD") -> tuple[str | None, str]:
    """Check one non-blank import value.

    Returns ``(stored_value, "")`` when valid, ``(None, "")`` when REDCap ignores the column
    (calc and file fields), or ``(value, message)`` when REDCap rejects it.
    """
    if column.kind == "status":
        ok = value in STATUS_CHOICES
        return value, "" if ok else f"The value is not a valid category for {column.name}"
    if column.kind == "checkbox":
        ok = value in ("0", "1")
        return value, "" if ok else f"The value is not a valid category for {column.name}"
    assert column.field is not None
    f = column.field
    if f.type in ("calc", "file"):
        return None, ""  # calc: REDCap recomputes; file: uploaded through content=file
    if f.type in ("radio", "dropdown", "yesno", "truefalse"):
        ok = value in f.choices
        return value, "" if ok else f"The value is not a valid category for {f.name}"
    if f.type == "slider":
        ok = _INTEGER.match(value) is not None and 0 <= int(value) <= 100
        return value, "" if ok else f"The value of {f.name} must be an integer between 0 and 100."
    if f.type == "text" and f.validation:
        if f.validation.split("_")[0] in ("date", "datetime"):
            value = to_ymd(value, date_format)
        return value, _check_text(column, value) or ""
    return value, ""
