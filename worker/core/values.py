"""Typing of REDCap raw values from the data dictionary: the one place that knows formats.

REDCap exports every value as a string in its stored ("raw") format, whatever the field's
display format (docs/redcap-api-behaviour.md §3.1): dates ``YYYY-MM-DD``, datetimes
``YYYY-MM-DD HH:MM``
or ``YYYY-MM-DD HH:MM:SS``, numbers with ``.``, codes for choice fields, ``0``/``1`` per
checkbox column. :func:`parse_value` turns one raw string into a :class:`ParsedValue` that
is blank, valid (with a typed Python value) or invalid (with a reason that never quotes the
value). :func:`range_violation` checks a valid value against the field's min/max.

The patterns mirror REDCap's own ``redcap_validation_types`` regexes where they are known,
so the worker flags what REDCap's data-quality rule C would flag and nothing more:

- ``integer``: ``^[-+]?\\d+$``; a sign and leading zeros are accepted (``"+5"``, ``"012"``)
  because REDCap accepts them.
- ``number``: ``^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$``: ``".5"`` and scientific
  notation (``"3.14e-2"``) are accepted because REDCap accepts them; ``"5."``, ``"1,5"``,
  ``"1 000"`` are not. Typed as ``float``.
- ``number_Ndp``: ``^-?\\d+\\.\\d{N}$`` (exactly N decimals, no plus sign).
- ``time``: ``H:MM`` or ``HH:MM``, 00-23 hours (REDCap accepts a one-digit hour);
  datetime hours likewise.
- Dates are checked against the real calendar (``2026-02-30`` is invalid). Only the stored
  form with dashes is valid: REDCap normalises every saved date to it.

Validation types with no check here (phone, zipcode, postal codes, SSN, MRN, ``alpha_only``,
the ``*_comma_decimal`` family whose stored separator depends on the export, and any
site-defined type) are typed as text and never reported invalid: the worker does not flag
what it cannot judge. :data:`CHECKED_VALIDATIONS` lists the ones that are checked.

Whitespace: a value that is empty or only whitespace is blank. Validated values are judged
after stripping surrounding whitespace (REDCap trims on save, so this only avoids false
alarms); free text is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache

from worker.core.schema import FieldDef

Typed = str | int | float | bool | date | datetime | time


class Status(StrEnum):
    BLANK = "blank"
    VALID = "valid"
    INVALID = "invalid"


class Problem(StrEnum):
    """Why a value is invalid: its format (DQ-TYPE) or its code (DQ-CHOICE)."""

    TYPE = "type"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class ParsedValue:
    """A raw value read through its field's definition.

    ``value`` is set only when valid; ``problem`` and ``reason`` only when invalid.
    ``reason`` completes a sentence whose subject is the field ("is not a valid date
    (expected YYYY-MM-DD)") and never contains the value itself.
    """

    status: Status
    value: Typed | None = None
    problem: Problem | None = None
    reason: str = ""

    @property
    def is_blank(self) -> bool:
        return self.status is Status.BLANK

    @property
    def is_valid(self) -> bool:
        return self.status is Status.VALID

    @property
    def is_invalid(self) -> bool:
        return self.status is Status.INVALID

    def or_none(self) -> Typed | None:
        """The typed value, or ``None`` when blank or invalid (how the study checks read it)."""
        return self.value if self.status is Status.VALID else None


BLANK = ParsedValue(Status.BLANK)

Parser = Callable[[str], ParsedValue]


def _valid(value: Typed) -> ParsedValue:
    return ParsedValue(Status.VALID, value)


def _invalid(reason: str, problem: Problem = Problem.TYPE) -> ParsedValue:
    return ParsedValue(Status.INVALID, problem=problem, reason=reason)


def is_blank(raw: str) -> bool:
    """REDCap's notion of an empty value (whitespace-only counts as empty)."""
    return not raw or raw.isspace()


# --- Patterns, compiled once -------------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_HOUR_MIN = r"([01]?\d|2[0-3]):([0-5]\d)"
_DATETIME = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}}) {_HOUR_MIN}")
_DATETIME_SECONDS = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}}) {_HOUR_MIN}:([0-5]\d)")
_TIME = re.compile(_HOUR_MIN)
_TIME_HMS = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")
_TIME_MS = re.compile(r"([0-5]\d):([0-5]\d)")
_INTEGER = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?")
_NUMBER_DP = {n: re.compile(rf"-?\d+\.\d{{{n}}}") for n in range(1, 5)}
# Deliberately loose: flags only what is clearly not an address (REDCap's own pattern is
# stricter, e.g. on top-level domains, and has changed between versions).
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


# --- Parsers per validation type ----------------------------------------------------------


def _calendar_parser(pattern: re.Pattern[str], build: Callable[..., Typed], reason: str) -> Parser:
    """A parser for texts of ``pattern`` whose groups, as integers, ``build`` a date, a
    datetime or a time: the regex checks the shape, the calendar the day (leap years,
    30/31)."""

    def parse(text: str) -> ParsedValue:
        m = pattern.fullmatch(text)
        if m is None:
            return _invalid(reason)
        try:
            return _valid(build(*map(int, m.groups())))
        except ValueError:
            return _invalid(reason)

    return parse


def _minutes_seconds(minutes: int, seconds: int) -> time:
    # A minutes:seconds duration, typed as a time of day past midnight so it orders.
    return time(0, minutes, seconds)


_parse_date = _calendar_parser(_DATE, date, "is not a valid date (expected YYYY-MM-DD)")
_parse_datetime = _calendar_parser(
    _DATETIME, datetime, "is not a valid date and time (expected YYYY-MM-DD HH:MM)"
)
_parse_datetime_seconds = _calendar_parser(
    _DATETIME_SECONDS, datetime, "is not a valid date and time (expected YYYY-MM-DD HH:MM:SS)"
)
_parse_time = _calendar_parser(_TIME, time, "is not a valid time (expected HH:MM, 24-hour)")
_parse_time_hms = _calendar_parser(
    _TIME_HMS, time, "is not a valid time (expected HH:MM:SS, 24-hour)"
)
_parse_time_ms = _calendar_parser(
    _TIME_MS, _minutes_seconds, "is not a valid time (expected MM:SS)"
)


def _parse_integer(text: str) -> ParsedValue:
    if _INTEGER.fullmatch(text) is None:
        return _invalid("is not a whole number")
    try:
        return _valid(int(text))
    except ValueError:  # over Python's int-from-text digit limit: not a plausible entry
        return _invalid("is not a whole number of a plausible size")


def _parse_number(text: str) -> ParsedValue:
    if _NUMBER.fullmatch(text) is None:
        return _invalid("is not a number (expected digits with an optional . decimal part)")
    return _valid(float(text))


def _number_dp_parser(places: int) -> Parser:
    pattern = _NUMBER_DP[places]
    noun = "decimal place" if places == 1 else "decimal places"
    reason = f"is not a number with exactly {places} {noun}"

    def parse(text: str) -> ParsedValue:
        if pattern.fullmatch(text) is None:
            return _invalid(reason)
        return _valid(float(text))

    return parse


def _parse_email(text: str) -> ParsedValue:
    if _EMAIL.fullmatch(text) is None:
        return _invalid("is not a valid email address")
    return _valid(text)


# Validation type -> parser of the stripped text. Legacy names (``date``, ``int``, ...) are
# modernised by REDCap's metadata export but may appear in a saved data dictionary.
_VALIDATION_PARSERS: dict[str, Parser] = {
    "date_ymd": _parse_date,
    "date_mdy": _parse_date,
    "date_dmy": _parse_date,
    "date": _parse_date,
    "datetime_ymd": _parse_datetime,
    "datetime_mdy": _parse_datetime,
    "datetime_dmy": _parse_datetime,
    "datetime": _parse_datetime,
    "datetime_seconds_ymd": _parse_datetime_seconds,
    "datetime_seconds_mdy": _parse_datetime_seconds,
    "datetime_seconds_dmy": _parse_datetime_seconds,
    "datetime_seconds": _parse_datetime_seconds,
    "time": _parse_time,
    "time_hh_mm_ss": _parse_time_hms,
    "time_mm_ss": _parse_time_ms,
    "integer": _parse_integer,
    "int": _parse_integer,
    "number": _parse_number,
    "float": _parse_number,
    **{f"number_{n}dp": _number_dp_parser(n) for n in range(1, 5)},
    "email": _parse_email,
}

CHECKED_VALIDATIONS = frozenset(_VALIDATION_PARSERS)


def _parse_text(raw: str) -> ParsedValue:
    return BLANK if is_blank(raw) else _valid(raw)


# Parsing typed values is the checks' hottest step, and the same texts recur across records
# (visit dates, doses, lab values): each validation type keeps a bounded memo of its recent
# texts. Parsed values are immutable, so one result may serve every record.
PARSE_MEMO_SIZE = 4096


def _stripping(parse: Parser) -> Parser:
    @lru_cache(maxsize=PARSE_MEMO_SIZE)
    def parser(raw: str) -> ParsedValue:
        return BLANK if is_blank(raw) else parse(raw.strip())

    return parser


_CHECKED = ParsedValue(Status.VALID, True)
_UNCHECKED = ParsedValue(Status.VALID, False)


def _parse_checkbox_column(raw: str) -> ParsedValue:
    # The two stored forms first: parsed values are immutable, so one of each serves all.
    if raw == "1":
        return _CHECKED
    if raw == "0":
        return _UNCHECKED
    text = raw.strip()
    if text == "1":
        return _valid(True)
    if text == "0":
        return _valid(False)
    if not text:
        return BLANK  # a checkbox column is "" where its form is not designated
    return _invalid("has an option that is neither checked (1) nor unchecked (0)", Problem.CHOICE)


def _choice_parser(choices: Mapping[str, str]) -> Parser:
    codes = frozenset(choices)
    # A stored code exactly as written (the usual case), parsed once: values are immutable.
    exact = {code: _valid(code) for code in codes if code and code == code.strip()}

    def parse(raw: str) -> ParsedValue:
        known = exact.get(raw)
        if known is not None:
            return known
        if is_blank(raw):
            return BLANK
        code = raw.strip()
        if code in codes:
            return _valid(code)
        return _invalid("holds a code that is not among the field's choices", Problem.CHOICE)

    return parse


_STRIPPED_PARSERS = {name: _stripping(p) for name, p in _VALIDATION_PARSERS.items()}
_NUMBER_PARSER = _STRIPPED_PARSERS["number"]
_CODED_TYPES = frozenset({"radio", "dropdown", "yesno", "truefalse"})


def value_parser(field: FieldDef) -> Parser:
    """The parser for one field's values, to build once and apply to many values.

    Checkbox fields: the parser reads one ``field___code`` column (``"1"`` -> ``True``).
    """
    if field.field_type == "checkbox":
        return _parse_checkbox_column
    if field.field_type in _CODED_TYPES and field.choices:
        # A choice field with no parsable choices is a dictionary problem, not a data one.
        return _choice_parser(field.choices)
    if field.field_type in ("calc", "slider"):
        return _NUMBER_PARSER
    if field.field_type == "text" and field.validation:
        return _STRIPPED_PARSERS.get(field.validation, _parse_text)
    return _parse_text  # text without (known) validation, notes, file, sql, descriptive


def parse_value(field: FieldDef, raw: str) -> ParsedValue:
    """Type one raw REDCap value by its field's definition: blank, valid or invalid."""
    return value_parser(field)(raw)


def is_judged(field: FieldDef) -> bool:
    """Whether this module can find a field's values invalid (else every value is valid)."""
    if field.field_type in ("checkbox", "calc", "slider"):
        return True
    if field.field_type in _CODED_TYPES:
        return bool(field.choices)
    return field.field_type == "text" and field.validation in CHECKED_VALIDATIONS


# --- Min / max ----------------------------------------------------------------------------

_TODAY_WORDS = frozenset({"today", "now"})


@dataclass(frozen=True, slots=True)
class _Bound:
    """One min or max: a fixed typed value, or 'today'/'now' (resolved at the as-of date)."""

    text: str
    value: Typed | None  # None for today/now
    relative: bool


def _bound_kind(field: FieldDef) -> str | None:
    """How a field's min/max are read: as numbers, dates, datetimes or times."""
    if field.field_type in ("calc", "slider"):
        return "number"
    if field.field_type != "text" or not field.validation:
        return None
    parse = _VALIDATION_PARSERS.get(field.validation)
    if parse is None:
        return None
    if parse in (_parse_integer, _parse_number) or field.validation.startswith("number_"):
        return "number"
    if parse is _parse_date:
        return "date"
    if parse in (_parse_datetime, _parse_datetime_seconds):
        return "datetime"
    if parse in (_parse_time, _parse_time_hms, _parse_time_ms):
        return "time"
    return None  # email: no range


def _parse_bound_value(kind: str, text: str) -> Typed | None:
    """A min/max read leniently in its kind's format; None if it cannot be read."""
    if kind == "number":
        parsed = _parse_number(text)
    elif kind == "date":
        parsed = _parse_date(text)
    elif kind == "datetime":
        parsed = _parse_datetime_seconds(text)
        if not parsed.is_valid:
            parsed = _parse_datetime(text)
        if not parsed.is_valid:  # a date-only bound on a datetime field: midnight
            day = _parse_date(text)
            parsed = _valid(datetime.combine(day.value, time())) if day.is_valid else day
    else:
        parsed = _parse_time_hms(text)
        for parse in (_parse_time, _parse_time_ms):
            if not parsed.is_valid:
                parsed = parse(text)
    return parsed.value if parsed.is_valid else None


@lru_cache(maxsize=4096)
def _parse_bound(kind: str, text: str) -> _Bound | None:
    # Cached: the same few dictionary strings are read for every record.
    text = text.strip()
    if not text:
        return None
    if text.lower() in _TODAY_WORDS:
        # REDCap allows 'today'/'now' as min/max; they mean the as-of date here.
        # Shown as "today" in messages: with an as-of date, 'now' means that day too.
        return _Bound("today", None, True) if kind in ("date", "datetime") else None
    value = _parse_bound_value(kind, text)
    if value is None:
        return None  # e.g. piping ([field]) or a malformed bound: not judged
    return _Bound(text, value, False)


def _resolve(bound: _Bound, kind: str, today: date | None, *, upper: bool) -> Typed | None:
    if not bound.relative:
        return bound.value
    if today is None:
        return None
    if kind == "date":
        return today
    # A datetime against 'now' with only an as-of date: allow the whole day (lenient).
    return datetime.combine(today, time.max if upper else time.min)


def _comparable(value: Typed, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == "datetime":
        return isinstance(value, datetime)
    return isinstance(value, time)


RangeCheck = Callable[[Typed, date | None], str | None]


def range_checker(field: FieldDef) -> RangeCheck:
    """``range_violation`` for one field, with its bounds and label read once: a function of
    (valid value, today) to apply to many values."""
    kind = _bound_kind(field)
    if kind is None:
        return _no_range
    low_bound = _parse_bound(kind, field.min) if field.min else None
    high_bound = _parse_bound(kind, field.max) if field.max else None
    if low_bound is None and high_bound is None:
        return _no_range
    label = display_label(field)

    def check(typed: Typed, today: date | None) -> str | None:
        if not _comparable(typed, kind):
            return None
        low = high = None
        if low_bound is not None:
            value = _resolve(low_bound, kind, today, upper=False)
            low = None if value is None else (low_bound.text, value)
        if high_bound is not None:
            value = _resolve(high_bound, kind, today, upper=True)
            high = None if value is None else (high_bound.text, value)
        below = low is not None and typed < low[1]  # type: ignore[operator]
        above = high is not None and typed > high[1]  # type: ignore[operator]
        if not (below or above):
            return None
        if low is not None and high is not None:
            return f"{label} is outside the allowed range {low[0]}–{high[0]}."
        if low is not None:
            return f"{label} is {_beyond(kind, low[0], upper=False)}."
        assert high is not None
        return f"{label} is {_beyond(kind, high[0], upper=True)}."

    return check


def _no_range(typed: Typed, today: date | None) -> str | None:
    return None


def range_violation(field: FieldDef, typed: Typed, *, today: date | None = None) -> str | None:
    """A coordinator-safe sentence if a valid value lies outside the field's min/max, else None.

    Bounds are in the value's own format (numbers, ``YYYY-MM-DD``, ...), or ``today``/``now``,
    which resolve to ``today`` (the as-of date); with ``today=None`` those are not judged.
    Bounds that cannot be read (piping, typos) are not judged either. The sentence names the
    field's label and the dictionary's bounds, never the value. For many values of one
    field, build :func:`range_checker` once.
    """
    return range_checker(field)(typed, today)


def _beyond(kind: str, bound_text: str, *, upper: bool) -> str:
    if bound_text == "today":
        return "later than today" if upper else "earlier than today"
    if kind == "number":
        return f"above the maximum {bound_text}" if upper else f"below the minimum {bound_text}"
    return (
        f"later than the maximum {bound_text}"
        if upper
        else f"earlier than the minimum {bound_text}"
    )


# --- Labels for messages ------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_MAX_LABEL = 80


def display_label(field: FieldDef) -> str:
    """The field's label as plain text for a message (HTML removed, shortened), else its name.

    Labels come from the data dictionary, never from a record, so they are safe to show.
    """
    text = " ".join(_TAG.sub(" ", field.label).split())
    if not text:
        return field.name
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1].rstrip() + "…"
    return text
