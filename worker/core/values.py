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
  Integers of any length are integers: Python's ``int()`` refuses texts of more than 4300
  digits, so longer ones are converted in pieces (a stored value is at most 64 KB), and
  a huge integer outside the field's range is DQ-RANGE, never DQ-TYPE.
- ``number``: ``^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$``: ``".5"`` and scientific
  notation (``"3.14e-2"``) are accepted because REDCap accepts them; ``"5."``, ``"1,5"``,
  ``"1 000"`` are not. Typed as ``float``.
- ``number_Ndp``: ``^-?\\d+\\.\\d{N}$`` (exactly N decimals, no plus sign).
- ``number_comma_decimal`` and ``number_Ndp_comma_decimal``: the same with a comma as the
  decimal separator, which is how REDCap stores and exports them. Typed as ``float``.
- ``time``: ``H:MM`` or ``HH:MM``, 00-23 hours (REDCap accepts a one-digit hour);
  datetime hours likewise. ``time_mm_ss`` is a duration (minutes and seconds, e.g. a
  walk test), typed as ``timedelta``.
- Dates are checked against the real calendar (``2026-02-30`` is invalid). Only the stored
  form with dashes is valid: REDCap normalises every saved date to it.
- ``phone`` (North American numbers, REDCap's pattern), ``zipcode`` (US, 5 or 5-4 digits),
  ``email``, ``alpha_only`` (ASCII letters), ``ssn``, ``mrn_10d`` and the postal codes and
  phone numbers of Australia, Canada, France, Germany and the UK: typed as text, checked
  against their well-known shapes; where a country's pattern has variants the check is the
  lenient one (it flags only what is clearly not such a number).

Validation types with no check here (``mrn_generic``, ``vmrn`` and any site-defined type)
are typed as text and never reported invalid: the worker does not flag what it cannot
judge. :data:`CHECKED_VALIDATIONS` lists the ones that are checked. Legacy names (``date``,
``datetime``, ``datetime_seconds``, ``int``, ``float``) mean their modern types.

Missing-data codes: a value equal to one of the project's codes (``UNK``...) is an answer
that says the value is unknown: :data:`ParseStatus.MISSING`, neither blank nor invalid, with no
typed value. Parsers know the codes when built with them (:func:`value_parser`).

Whitespace: a value that is empty or only whitespace is blank. Validated values are judged
after stripping surrounding whitespace (REDCap trims on save, so this only avoids false
alarms); free text is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from worker.core.schema import FieldDef

Typed = str | int | float | bool | date | datetime | time | timedelta


class ParseStatus(StrEnum):
    BLANK = "blank"
    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"  # a missing-data code: answered, value unknown


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

    status: ParseStatus
    value: Typed | None = None
    problem: Problem | None = None
    reason: str = ""

    @property
    def is_blank(self) -> bool:
        return self.status is ParseStatus.BLANK

    @property
    def is_valid(self) -> bool:
        return self.status is ParseStatus.VALID

    @property
    def is_invalid(self) -> bool:
        return self.status is ParseStatus.INVALID

    @property
    def is_missing(self) -> bool:
        return self.status is ParseStatus.MISSING

    def or_none(self) -> Typed | None:
        """The typed value, or ``None`` when blank or invalid (how the study checks read it)."""
        return self.value if self.status is ParseStatus.VALID else None


BLANK = ParsedValue(ParseStatus.BLANK)
MISSING = ParsedValue(ParseStatus.MISSING)

Parser = Callable[[str], ParsedValue]


def _valid(value: Typed) -> ParsedValue:
    return ParsedValue(ParseStatus.VALID, value)


def _invalid(reason: str, problem: Problem = Problem.TYPE) -> ParsedValue:
    return ParsedValue(ParseStatus.INVALID, problem=problem, reason=reason)


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
_INTEGER = re.compile(r"([-+]?)(\d+)")
_NUMBER = re.compile(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?")
_NUMBER_DP = {n: re.compile(rf"-?\d+\.\d{{{n}}}") for n in range(1, 5)}
_NUMBER_COMMA = re.compile(r"[-+]?[0-9]*,?[0-9]+")
_NUMBER_DP_COMMA = {n: re.compile(rf"-?\d+,\d{{{n}}}") for n in range(1, 5)}
# Deliberately loose: flags only what is clearly not an address (REDCap's own pattern is
# stricter, e.g. on top-level domains, and has changed between versions).
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

# Shapes of the text types, each a whole-value match. North American phone numbers as
# REDCap checks them (area code and exchange may not start with 0 or 1; an extension may
# follow); the others are the countries' well-known forms, read leniently where they vary.
_TEXT_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "phone": (
        re.compile(
            r"\(?([2-9]0[1-9]|[2-9]1[02-9]|[2-9][2-9][0-9])\)?\s*(?:[.-]\s*)?"
            r"([2-9]1[02-9]|[2-9][02-9]1|[2-9][02-9]{2})\s*(?:[.-]\s*)?([0-9]{4})"
            r"(?:\s*(?:#|x\.?|ext\.?|extension)\s*(\d+))?"
        ),
        "is not a valid North American phone number",
    ),
    "phone_australia": (
        re.compile(r"(?:\+61\s*|\(0\d\)|0)[\s-]*(?:\d[\s-]*){8,9}"),
        "is not a valid Australian phone number",
    ),
    "phone_uk": (
        re.compile(r"(?:\+44\s*\(?0?\)?|\(?0)[\s-]*(?:\d[\s()-]*){9,10}"),
        "is not a valid UK phone number",
    ),
    "phone_france": (
        re.compile(r"(?:\+33\s*|0)[1-9](?:[\s.-]?\d{2}){4}"),
        "is not a valid French phone number",
    ),
    "zipcode": (
        re.compile(r"\d{5}(?:-\d{4})?"),
        "is not a valid US ZIP code (12345 or 12345-6789)",
    ),
    "postalcode_australia": (re.compile(r"\d{4}"), "is not a valid Australian postcode"),
    "postalcode_canada": (
        re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d", re.I),
        "is not a valid Canadian postal code",
    ),
    "postalcode_germany": (re.compile(r"\d{5}"), "is not a valid German postal code"),
    "postalcode_french": (re.compile(r"\d{5}"), "is not a valid French postal code"),
    "postalcode_uk": (
        re.compile(r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[A-Z]{2}", re.I),
        "is not a valid UK postcode",
    ),
    "ssn": (re.compile(r"\d{3}-\d{2}-\d{4}"), "is not a valid social security number"),
    "mrn_10d": (re.compile(r"\d{10}"), "is not a 10-digit medical record number"),
    "alpha_only": (re.compile(r"[A-Za-z]+"), "holds something other than letters"),
    "email": (_EMAIL, "is not a valid email address"),
}


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


def _minutes_seconds(minutes: int, seconds: int) -> timedelta:
    return timedelta(minutes=minutes, seconds=seconds)


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
    _TIME_MS, _minutes_seconds, "is not a valid duration (expected MM:SS)"
)

# Below the smallest digit limit Python lets ``int()`` be configured to (640).
_INT_CHUNK = 600


def integer_of(digits: str) -> int:
    """The integer an unsigned digit string writes, of any length. ``int()`` alone refuses
    more than 4300 digits (a guard against slow conversions); a stored REDCap value is at
    most 64 KB, so converting it in halves is quick."""
    if len(digits) <= _INT_CHUNK:
        return int(digits)
    half = len(digits) // 2
    low = len(digits) - half
    return integer_of(digits[:half]) * 10**low + integer_of(digits[half:])


def _parse_integer(text: str) -> ParsedValue:
    m = _INTEGER.fullmatch(text)
    if m is None:
        return _invalid("is not a whole number")
    sign, digits = m.groups()
    magnitude = integer_of(digits)
    return _valid(-magnitude if sign == "-" else magnitude)


def _parse_number(text: str) -> ParsedValue:
    if _NUMBER.fullmatch(text) is None:
        return _invalid("is not a number (expected digits with an optional . decimal part)")
    return _valid(float(text))


def _number_dp_parser(places: int, *, comma: bool = False) -> Parser:
    pattern = (_NUMBER_DP_COMMA if comma else _NUMBER_DP)[places]
    noun = "decimal place" if places == 1 else "decimal places"
    reason = f"is not a number with exactly {places} {noun}"
    if comma:
        reason += " after a comma"

    def parse(text: str) -> ParsedValue:
        if pattern.fullmatch(text) is None:
            return _invalid(reason)
        return _valid(float(text.replace(",", ".")))

    return parse


def _parse_number_comma(text: str) -> ParsedValue:
    if _NUMBER_COMMA.fullmatch(text) is None:
        return _invalid("is not a number (expected digits with an optional , decimal part)")
    return _valid(float(text.replace(",", ".")))


def _shape_parser(pattern: re.Pattern[str], reason: str) -> Parser:
    def parse(text: str) -> ParsedValue:
        if pattern.fullmatch(text) is None:
            return _invalid(reason)
        return _valid(text)

    return parse


class Order(StrEnum):
    """How a validation type's values (and its min/max) order."""

    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"


@dataclass(frozen=True, slots=True)
class _Validation:
    parse: Parser  # of the stripped text
    order: Order | None  # None: no min/max
    typed: type  # the Python type of a valid value


def _validations() -> dict[str, _Validation]:
    table: dict[str, _Validation] = {}
    for suffix in ("ymd", "mdy", "dmy"):
        table[f"date_{suffix}"] = _Validation(_parse_date, Order.DATE, date)
        table[f"datetime_{suffix}"] = _Validation(_parse_datetime, Order.DATETIME, datetime)
        table[f"datetime_seconds_{suffix}"] = _Validation(
            _parse_datetime_seconds, Order.DATETIME, datetime
        )
    table["time"] = _Validation(_parse_time, Order.TIME, time)
    table["time_hh_mm_ss"] = _Validation(_parse_time_hms, Order.TIME, time)
    table["time_mm_ss"] = _Validation(_parse_time_ms, Order.DURATION, timedelta)
    table["integer"] = _Validation(_parse_integer, Order.NUMBER, int)
    table["number"] = _Validation(_parse_number, Order.NUMBER, float)
    table["number_comma_decimal"] = _Validation(_parse_number_comma, Order.NUMBER, float)
    for n in range(1, 5):
        table[f"number_{n}dp"] = _Validation(_number_dp_parser(n), Order.NUMBER, float)
        table[f"number_{n}dp_comma_decimal"] = _Validation(
            _number_dp_parser(n, comma=True), Order.NUMBER, float
        )
    for name, (pattern, reason) in _TEXT_SHAPES.items():
        table[name] = _Validation(_shape_parser(pattern, reason), None, str)
    # Legacy names, which REDCap's metadata export modernises but an old dictionary may hold.
    for legacy, modern in LEGACY_VALIDATIONS.items():
        table[legacy] = table[modern]
    return table


LEGACY_VALIDATIONS = {
    "date": "date_ymd",
    "datetime": "datetime_ymd",
    "datetime_seconds": "datetime_seconds_ymd",
    "int": "integer",
    "float": "number",
}
_VALIDATIONS = _validations()
CHECKED_VALIDATIONS = frozenset(_VALIDATIONS)


def validation_type(field: FieldDef) -> type | None:
    """The Python type of a text field's valid values by its validation type; None for free
    text and for validation types this module does not know (typed as text)."""
    known = _VALIDATIONS.get(field.validation or "") if field.field_type == "text" else None
    return known.typed if known else None


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


_CHECKED = ParsedValue(ParseStatus.VALID, True)
_UNCHECKED = ParsedValue(ParseStatus.VALID, False)


def _parse_checkbox_column(raw: str) -> ParsedValue:
    # The two stored forms first: parsed values are immutable, so one of each serves all.
    if raw == "1":
        return _CHECKED
    if raw == "0":
        return _UNCHECKED
    text = raw.strip()
    if text == "1":
        return _CHECKED
    if text == "0":
        return _UNCHECKED
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


_STRIPPED_PARSERS = {name: _stripping(v.parse) for name, v in _VALIDATIONS.items()}
_NUMBER_PARSER = _STRIPPED_PARSERS["number"]
_CODED_TYPES = frozenset({"radio", "dropdown", "yesno", "truefalse"})


def _base_parser(field: FieldDef) -> Parser:
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


def value_parser(field: FieldDef, missing_codes: Collection[str] = ()) -> Parser:
    """The parser for one field's values, to build once and apply to many values.

    ``missing_codes`` are the project's missing-data codes: a value equal to one (surrounding
    whitespace aside) is :data:`MISSING`. Checkbox fields: the parser reads one
    ``field___code`` column (``"1"`` -> ``True``), to which codes do not apply.
    """
    parse = _base_parser(field)
    if not missing_codes or field.field_type == "checkbox":
        return parse
    codes = frozenset(missing_codes)

    def parse_or_missing(raw: str) -> ParsedValue:
        if raw in codes or raw.strip() in codes:
            return MISSING
        return parse(raw)

    return parse_or_missing


def parse_value(field: FieldDef, raw: str, missing_codes: Collection[str] = ()) -> ParsedValue:
    """Type one raw REDCap value by its field's definition: blank, valid, invalid, or a
    missing-data code."""
    return value_parser(field, missing_codes)(raw)


def is_judged(field: FieldDef) -> bool:
    """Whether this module can find a field's values invalid (else every value is valid)."""
    if field.field_type in ("checkbox", "calc", "slider"):
        return True
    if field.field_type in _CODED_TYPES:
        return bool(field.choices)
    return field.field_type == "text" and field.validation in CHECKED_VALIDATIONS


def is_free_text(field: FieldDef) -> bool:
    """Text whose stored form is whatever was typed (notes, text of no known validation):
    the one kind of value read untrimmed."""
    if field.field_type == "notes":
        return True
    return field.field_type == "text" and validation_type(field) in (None, str)


# --- Min / max ----------------------------------------------------------------------------

_TODAY_WORDS = frozenset({"today", "now"})


@dataclass(frozen=True, slots=True)
class _Bound:
    """One min or max: a fixed typed value, or 'today'/'now' (resolved at the as-of date)."""

    text: str
    value: Typed | None  # None for today/now
    relative: bool


def _order(field: FieldDef) -> Order | None:
    """How a field's values and min/max compare; None where they have no order."""
    if field.field_type in ("calc", "slider"):
        return Order.NUMBER
    if field.field_type != "text" or not field.validation:
        return None
    known = _VALIDATIONS.get(field.validation)
    return known.order if known else None


def _first_valid(text: str, *parsers: Parser) -> Typed | None:
    for parse in parsers:
        parsed = parse(text)
        if parsed.is_valid:
            return parsed.value
    return None


def _parse_bound_value(order: Order, text: str, comma: bool) -> Typed | None:
    """A min/max read leniently in its order's formats; None if it cannot be read."""
    if order is Order.NUMBER:
        # An integer bound stays an exact integer (a 30-digit limit is not rounded); a
        # comma-decimal field's bound is written with a comma (a point is read too there).
        if comma:
            return _first_valid(text, _parse_integer, _parse_number_comma, _parse_number)
        return _first_valid(text, _parse_integer, _parse_number)
    if order is Order.DATE:
        return _first_valid(text, _parse_date)
    if order is Order.DATETIME:
        day = _parse_date(text)
        if day.is_valid:  # a date-only bound on a datetime field: midnight
            return datetime.combine(day.value, time())  # type: ignore[arg-type]
        return _first_valid(text, _parse_datetime_seconds, _parse_datetime)
    if order is Order.DURATION:
        return _first_valid(text, _parse_time_ms)
    return _first_valid(text, _parse_time_hms, _parse_time)


@lru_cache(maxsize=4096)
def _parse_bound(order: Order, text: str, comma: bool = False) -> _Bound | None:
    # Cached: the same few dictionary strings are read for every record.
    text = text.strip()
    if not text:
        return None
    if text.lower() in _TODAY_WORDS:
        # REDCap allows 'today'/'now' as min/max; they mean the as-of date here.
        # Shown as "today" in messages: with an as-of date, 'now' means that day too.
        return _Bound("today", None, True) if order in (Order.DATE, Order.DATETIME) else None
    value = _parse_bound_value(order, text, comma)
    if value is None:
        return None  # e.g. piping ([field]) or a malformed bound: not judged
    return _Bound(text, value, False)


def _resolve(bound: _Bound, order: Order, today: date | None, *, upper: bool) -> Typed | None:
    if not bound.relative:
        return bound.value
    if today is None:
        return None
    if order is Order.DATE:
        return today
    # A datetime against 'now' with only an as-of date: allow the whole day (lenient).
    return datetime.combine(today, time.max if upper else time.min)


def _comparable(value: Typed, order: Order) -> bool:
    if order is Order.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if order is Order.DATE:
        return isinstance(value, date) and not isinstance(value, datetime)
    if order is Order.DATETIME:
        return isinstance(value, datetime)
    if order is Order.DURATION:
        return isinstance(value, timedelta)
    return isinstance(value, time)


RangeCheck = Callable[[Typed, date | None], str | None]


def range_checker(field: FieldDef) -> RangeCheck:
    """``range_violation`` for one field, with its bounds and label read once: a function of
    (valid value, today) to apply to many values."""
    order = _order(field)
    if order is None:
        return _no_range
    comma = (field.validation or "").endswith("comma_decimal")
    low_bound = _parse_bound(order, field.min, comma) if field.min else None
    high_bound = _parse_bound(order, field.max, comma) if field.max else None
    if low_bound is None and high_bound is None:
        return _no_range
    label = display_label(field)
    # The bounds as of each day asked about (a run asks about one): resolved once per day.
    resolved: dict[date | None, tuple[tuple[str, Typed] | None, tuple[str, Typed] | None]] = {}

    def bounds(today: date | None) -> tuple[tuple[str, Typed] | None, tuple[str, Typed] | None]:
        low = high = None
        if low_bound is not None:
            value = _resolve(low_bound, order, today, upper=False)
            low = None if value is None else (low_bound.text, value)
        if high_bound is not None:
            value = _resolve(high_bound, order, today, upper=True)
            high = None if value is None else (high_bound.text, value)
        return low, high

    # Whether a value can be compared depends only on its type: asked once per type.
    comparable: dict[type, bool] = {}

    def check(typed: Typed, today: date | None) -> str | None:
        kind = type(typed)
        ok = comparable.get(kind)
        if ok is None:
            ok = comparable[kind] = _comparable(typed, order)
        if not ok:
            return None
        try:
            low, high = resolved[today]
        except KeyError:
            low, high = resolved[today] = bounds(today)
        # Python compares an int of any size with an int or a float exactly.
        below = low is not None and typed < low[1]  # type: ignore[operator]
        above = high is not None and typed > high[1]  # type: ignore[operator]
        if not (below or above):
            return None
        if low is not None and high is not None:
            return f"{label} is outside the allowed range {low[0]}–{high[0]}."
        if low is not None:
            return f"{label} is {_beyond(order, low[0], upper=False)}."
        assert high is not None
        return f"{label} is {_beyond(order, high[0], upper=True)}."

    return check


def _no_range(typed: Typed, today: date | None) -> str | None:
    return None


def range_violation(field: FieldDef, typed: Typed, *, today: date | None = None) -> str | None:
    """A coordinator-safe sentence if a valid value lies outside the field's min/max, else None.

    Bounds are written as REDCap stores values (numbers, comma decimals with a comma,
    ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM``, ``HH:MM``, ``MM:SS``), or ``today``/``now``,
    which resolve to ``today`` (the as-of date); with ``today=None`` those are not judged.
    Bounds that cannot be read (piping, typos) are not judged either. The sentence names the
    field's label and the dictionary's bounds, never the value. For many values of one
    field, build :func:`range_checker` once.
    """
    return range_checker(field)(typed, today)


def _beyond(order: Order, bound_text: str, *, upper: bool) -> str:
    if bound_text == "today":
        return "later than today" if upper else "earlier than today"
    if order is Order.NUMBER:
        return f"above the maximum {bound_text}" if upper else f"below the minimum {bound_text}"
    if order is Order.DURATION:
        return (
            f"longer than the maximum {bound_text}"
            if upper
            else (f"shorter than the minimum {bound_text}")
        )
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
