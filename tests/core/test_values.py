"""Typing of REDCap raw values: the specification of ``worker.core.values``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.schema import FieldDef
from worker.core.values import (
    BLANK,
    CHECKED_VALIDATIONS,
    LEGACY_VALIDATIONS,
    MISSING,
    ParseStatus,
    Problem,
    display_label,
    is_judged,
    parse_value,
    range_violation,
)


def text_field(validation: str | None = None, **kw: Any) -> FieldDef:
    return FieldDef(
        name=kw.pop("name", "f"), form="form", field_type="text", validation=validation, **kw
    )


def coded(field_type: str, choices: dict[str, str] | None = None) -> FieldDef:
    row = {"field_name": "c", "form_name": "form", "field_type": field_type}
    if choices is not None:
        row["select_choices_or_calculations"] = " | ".join(f"{k}, {v}" for k, v in choices.items())
    return FieldDef.from_metadata_row(row)


# --- valid values, typed ------------------------------------------------------------------

VALID = [
    # dates: stored as YYYY-MM-DD whatever the display format; real calendar
    ("date_ymd", "2026-01-31", date(2026, 1, 31)),
    ("date_mdy", "2026-01-31", date(2026, 1, 31)),
    ("date_dmy", "2026-01-31", date(2026, 1, 31)),
    ("date", "2026-01-31", date(2026, 1, 31)),  # legacy name in an old dictionary
    ("date_ymd", "2024-02-29", date(2024, 2, 29)),  # leap day
    ("date_ymd", "2000-02-29", date(2000, 2, 29)),  # divisible by 400: leap
    ("date_ymd", " 2026-01-31 ", date(2026, 1, 31)),  # surrounding space tolerated
    ("datetime_ymd", "2026-03-01 09:15", datetime(2026, 3, 1, 9, 15)),
    ("datetime_dmy", "2026-03-01 23:59", datetime(2026, 3, 1, 23, 59)),
    ("datetime_ymd", "2026-03-01 9:15", datetime(2026, 3, 1, 9, 15)),  # REDCap: 1-digit hour
    ("datetime_seconds_ymd", "2026-03-01 09:15:07", datetime(2026, 3, 1, 9, 15, 7)),
    ("datetime_seconds_mdy", "2024-02-29 00:00:00", datetime(2024, 2, 29)),
    ("time", "00:00", time(0, 0)),
    ("time", "23:59", time(23, 59)),
    ("time", "7:05", time(7, 5)),
    ("time_hh_mm_ss", "13:45:30", time(13, 45, 30)),
    ("time_mm_ss", "59:59", timedelta(minutes=59, seconds=59)),  # a duration
    ("time_mm_ss", "00:00", timedelta(0)),
    # integers: REDCap's pattern ^[-+]?\d+$ (sign and leading zeros allowed)
    ("integer", "0", 0),
    ("integer", "42", 42),
    ("integer", "-7", -7),
    ("integer", "+7", 7),
    ("integer", "012", 12),
    ("int", "5", 5),  # legacy name
    # numbers: REDCap's pattern, incl. a bare fraction and scientific notation
    ("number", "3.5", 3.5),
    ("number", "-6.28", -6.28),
    ("number", "+2", 2.0),
    ("number", ".5", 0.5),
    ("number", "22", 22.0),
    ("number", "3.14e-2", 0.0314),
    ("number", "1E3", 1000.0),
    ("float", "1.5", 1.5),  # legacy name
    ("number_1dp", "3.5", 3.5),
    ("number_2dp", "-0.25", -0.25),
    ("number_3dp", "10.125", 10.125),
    ("number_4dp", "1.0000", 1.0),
    ("float", "-2", -2.0),
    ("datetime", "2026-03-01 09:15", datetime(2026, 3, 1, 9, 15)),  # legacy name
    ("datetime_seconds", "2026-03-01 09:15:07", datetime(2026, 3, 1, 9, 15, 7)),  # legacy
    # comma decimals: stored and exported with a comma
    ("number_comma_decimal", "3,5", 3.5),
    ("number_comma_decimal", "-12", -12.0),
    ("number_comma_decimal", ",5", 0.5),
    ("number_1dp_comma_decimal", "3,5", 3.5),
    ("number_2dp_comma_decimal", "-0,25", -0.25),
    ("number_3dp_comma_decimal", "10,125", 10.125),
    ("number_4dp_comma_decimal", "1,0000", 1.0),
    # text types with a well-known shape: valid values stay the stored text
    ("email", "site.coordinator@example.org", "site.coordinator@example.org"),
    ("phone", "(615) 322-5000", "(615) 322-5000"),
    ("phone", "615-322-5000", "615-322-5000"),
    ("phone", "615.322.5000", "615.322.5000"),
    ("phone", "6153225000", "6153225000"),
    ("phone", "615-322-5000 x123", "615-322-5000 x123"),
    ("zipcode", "37232", "37232"),
    ("zipcode", "37232-0011", "37232-0011"),
    ("alpha_only", "Smith", "Smith"),
    ("ssn", "123-45-6789", "123-45-6789"),
    ("mrn_10d", "0123456789", "0123456789"),
    ("postalcode_australia", "2000", "2000"),
    ("postalcode_canada", "K1A 0B1", "K1A 0B1"),
    ("postalcode_canada", "k1a0b1", "k1a0b1"),
    ("postalcode_germany", "10115", "10115"),
    ("postalcode_french", "75008", "75008"),
    ("postalcode_uk", "SW1A 1AA", "SW1A 1AA"),
    ("postalcode_uk", "m11ae", "m11ae"),
    ("phone_uk", "020 7946 0018", "020 7946 0018"),
    ("phone_uk", "+44 20 7946 0018", "+44 20 7946 0018"),
    ("phone_uk", "07700 900123", "07700 900123"),
    ("phone_australia", "(02) 9876 5432", "(02) 9876 5432"),
    ("phone_australia", "0412 345 678", "0412 345 678"),
    ("phone_australia", "+61 2 9876 5432", "+61 2 9876 5432"),
    ("phone_france", "01 23 45 67 89", "01 23 45 67 89"),
    ("phone_france", "+33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("phone_france", "0123456789", "0123456789"),
]


@pytest.mark.parametrize(("validation", "raw", "expected"), VALID)
def test_valid_values_are_typed(validation: str, raw: str, expected: object) -> None:
    parsed = parse_value(text_field(validation), raw)
    assert parsed.status is ParseStatus.VALID
    assert parsed.value == expected
    assert type(parsed.value) is type(expected)
    assert parsed.or_none() == expected


# --- invalid values -----------------------------------------------------------------------

INVALID = [
    ("date_ymd", "2026-02-30"),  # no such day
    ("date_ymd", "2023-02-29"),  # not a leap year
    ("date_ymd", "1900-02-29"),  # divisible by 100, not 400
    ("date_ymd", "2026-04-31"),
    ("date_ymd", "2026-13-01"),
    ("date_ymd", "2026-00-10"),
    ("date_ymd", "0000-01-01"),
    ("date_ymd", "2026-1-5"),
    ("date_ymd", "20260105"),
    ("date_ymd", "2026/01/05"),  # REDCap stores dashes; anything else is not a stored date
    ("date_mdy", "01-05-2026"),  # display format is not the stored format
    ("date_ymd", "2026-01-05 10:00"),
    ("date_ymd", "yesterday"),
    ("datetime_ymd", "2026-03-01"),
    ("datetime_ymd", "2026-03-01 24:00"),
    ("datetime_ymd", "2026-03-01 09:60"),
    ("datetime_ymd", "2026-02-30 09:00"),
    ("datetime_ymd", "2026-03-01T09:15"),
    ("datetime_ymd", "2026-03-01 09:15:00"),
    ("datetime_seconds_ymd", "2026-03-01 09:15"),
    ("datetime_seconds_ymd", "2026-03-01 09:15:60"),
    ("time", "24:00"),
    ("time", "12:5"),
    ("time", "12:00:00"),
    ("time", "noon"),
    ("time_hh_mm_ss", "1:00:00"),
    ("time_mm_ss", "60:00"),
    ("integer", "1.0"),
    ("integer", "1.5"),
    ("integer", "1e3"),
    ("integer", "--1"),
    ("integer", "1 000"),
    ("integer", "1,000"),
    ("integer", "twelve"),
    ("integer", "+"),
    ("number", "1,5"),
    ("number", "5."),
    ("number", "1.2.3"),
    ("number", "1e"),
    ("number", "NaN"),
    ("number", "inf"),
    ("number", "0x10"),
    ("number", "12 kg"),
    ("number_1dp", "3"),
    ("number_1dp", "3.50"),
    ("number_2dp", "3.5"),
    ("number_2dp", "+3.50"),  # REDCap's fixed-decimal patterns take no plus sign
    ("number_2dp", ".50"),
    ("email", "not-an-address"),
    ("email", "a@b"),
    ("email", "a b@example.org"),
    ("number_comma_decimal", "3.5"),  # stored with a comma, never a point
    ("number_comma_decimal", "1,2,3"),
    ("number_comma_decimal", "5,"),
    ("number_1dp_comma_decimal", "3"),
    ("number_1dp_comma_decimal", "3.5"),
    ("number_2dp_comma_decimal", "3,5"),
    ("number_4dp_comma_decimal", "+1,0000"),
    ("time_mm_ss", "5:00"),
    ("time_mm_ss", "00:60"),
    ("phone", "123-456-7890"),  # an area code cannot start with 1
    ("phone", "615-322-500"),
    ("phone", "call me"),
    ("zipcode", "3723"),
    ("zipcode", "37232-001"),
    ("zipcode", "ABCDE"),
    ("alpha_only", "O'Brien"),
    ("alpha_only", "two words"),
    ("alpha_only", "abc1"),
    ("ssn", "123456789"),
    ("mrn_10d", "123456789"),
    ("postalcode_australia", "20000"),
    ("postalcode_canada", "D1A 0B1"),  # D is not a first letter
    ("postalcode_germany", "1011"),
    ("postalcode_french", "7500"),
    ("postalcode_uk", "SW1A"),
    ("phone_uk", "12345"),
    ("phone_australia", "9876 5432"),
    ("phone_france", "01 23 45 67"),
]


@pytest.mark.parametrize(("validation", "raw"), INVALID)
def test_invalid_values_are_type_problems(validation: str, raw: str) -> None:
    parsed = parse_value(text_field(validation), raw)
    assert parsed.status is ParseStatus.INVALID
    assert parsed.problem is Problem.TYPE
    assert parsed.value is None
    assert parsed.or_none() is None
    assert parsed.reason
    assert raw.strip() not in parsed.reason  # reasons never quote the value


def test_date_reason_names_the_expected_format() -> None:
    assert parse_value(text_field("date_dmy"), "31/01/2026").reason == (
        "is not a valid date (expected YYYY-MM-DD)"
    )


@pytest.mark.parametrize("digits", [4300, 4301, 5000, 65_000])
def test_an_integer_of_any_length_is_an_integer(digits: int) -> None:
    # Python's int() refuses texts of more than 4300 digits; REDCap does not.
    parsed = parse_value(text_field("integer"), "-" + "9" * digits)
    assert parsed.is_valid
    assert parsed.value == -(10**digits - 1)


@pytest.mark.parametrize("legacy", sorted(LEGACY_VALIDATIONS))
def test_legacy_names_mean_their_modern_types(legacy: str) -> None:
    modern = LEGACY_VALIDATIONS[legacy]
    for raw in ("2026-01-31", "2026-01-31 10:00", "2026-01-31 10:00:05", "12", "1.5", "x"):
        assert parse_value(text_field(legacy), raw) == parse_value(text_field(modern), raw)


# --- blanks -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", " ", "\t", "  \n"])
@pytest.mark.parametrize(
    "field",
    [
        text_field(),
        text_field("date_ymd"),
        text_field("integer"),
        coded("radio", {"1": "A"}),
        coded("yesno"),
        coded("checkbox", {"1": "A"}),
        FieldDef(name="n", form="form", field_type="notes"),
        FieldDef(name="k", form="form", field_type="calc"),
    ],
    ids=lambda f: f"{f.field_type}-{f.validation}" if isinstance(f, FieldDef) else None,
)
def test_empty_or_whitespace_is_blank(field: FieldDef, raw: str) -> None:
    parsed = parse_value(field, raw)
    assert parsed is BLANK
    assert parsed.is_blank
    assert parsed.or_none() is None


# --- text, unjudged validation types ------------------------------------------------------


@pytest.mark.parametrize("validation", [None, "mrn_generic", "vmrn", "custom_x"])
def test_text_and_unjudged_validations_keep_the_raw_string(validation: str | None) -> None:
    field = text_field(validation)
    parsed = parse_value(field, " anything at all 12 ")
    assert parsed.is_valid
    assert parsed.value == " anything at all 12 "  # free text is not altered
    assert not is_judged(field)


def test_judged_text_types_are_read_trimmed_and_keep_their_text() -> None:
    parsed = parse_value(text_field("zipcode"), " 37232 ")
    assert parsed.value == "37232"
    assert is_judged(text_field("phone"))


def test_every_validation_type_redcap_ships_is_judged() -> None:
    shipped = {
        *(f"{kind}_{order}" for kind in ("date", "datetime", "datetime_seconds")
          for order in ("ymd", "mdy", "dmy")),
        "time", "time_hh_mm_ss", "time_mm_ss", "integer", "number",
        *(f"number_{n}dp" for n in range(1, 5)),
        "number_comma_decimal",
        *(f"number_{n}dp_comma_decimal" for n in range(1, 5)),
        "email", "phone", "phone_australia", "phone_uk", "phone_france", "zipcode",
        "postalcode_australia", "postalcode_canada", "postalcode_germany", "postalcode_uk",
        "postalcode_french", "ssn", "mrn_10d", "alpha_only",
    }  # fmt: skip
    assert shipped <= CHECKED_VALIDATIONS
    assert {"mrn_generic", "vmrn"}.isdisjoint(CHECKED_VALIDATIONS)  # site-specific: text


def test_notes_and_file_fields_are_text() -> None:
    notes = FieldDef(name="n", form="form", field_type="notes")
    upload = FieldDef(name="u", form="form", field_type="file")
    assert parse_value(notes, "line 1\nline 2").value == "line 1\nline 2"
    assert parse_value(upload, "scan.pdf").value == "scan.pdf"


def test_checked_validations_cover_the_common_types() -> None:
    assert {"date_ymd", "datetime_seconds_dmy", "integer", "number", "number_4dp", "time"} <= (
        CHECKED_VALIDATIONS
    )
    assert is_judged(text_field("date_mdy"))


# --- choice fields, checkboxes, calc ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (coded("radio", {"1": "Normal", "2": "Abnormal"}), "2", "2"),
        (coded("dropdown", {"a": "A", "-1": "Unknown"}), "-1", "-1"),
        (coded("yesno"), "1", "1"),
        (coded("yesno"), "0", "0"),
        (coded("truefalse"), "0", "0"),
        (coded("radio", {"1": "A"}), " 1 ", "1"),
    ],
)
def test_choice_codes_are_valid_as_code_strings(field: FieldDef, raw: str, expected: str) -> None:
    parsed = parse_value(field, raw)
    assert parsed.is_valid
    assert parsed.value == expected


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (coded("radio", {"1": "Normal", "2": "Abnormal"}), "3"),
        (coded("radio", {"1": "Normal", "2": "Abnormal"}), "Normal"),  # a label is not a code
        (coded("dropdown", {"1": "A"}), "01"),
        (coded("yesno"), "2"),
        (coded("yesno"), "Yes"),
        (coded("truefalse"), "true"),
    ],
)
def test_unknown_codes_are_choice_problems(field: FieldDef, raw: str) -> None:
    parsed = parse_value(field, raw)
    assert parsed.is_invalid
    assert parsed.problem is Problem.CHOICE
    assert parsed.reason == "holds a code that is not among the field's choices"


def test_a_choice_field_without_parsable_choices_is_not_judged() -> None:
    field = FieldDef(name="r", form="form", field_type="radio", choices={})
    assert parse_value(field, "7").is_valid
    assert not is_judged(field)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("0", False)])
def test_checkbox_columns_are_booleans(raw: str, expected: bool) -> None:
    parsed = parse_value(coded("checkbox", {"1": "A", "2": "B"}), raw)
    assert parsed.is_valid
    assert parsed.value is expected


@pytest.mark.parametrize("raw", ["2", "yes", "Checked", "-1"])
def test_checkbox_column_other_than_0_or_1_is_a_choice_problem(raw: str) -> None:
    parsed = parse_value(coded("checkbox", {"1": "A"}), raw)
    assert parsed.is_invalid
    assert parsed.problem is Problem.CHOICE


@pytest.mark.parametrize("field_type", ["calc", "slider"])
def test_calc_and_slider_values_are_numbers(field_type: str) -> None:
    field = FieldDef(name="k", form="form", field_type=field_type)
    assert parse_value(field, "12.5").value == 12.5
    assert parse_value(field, "-3").value == -3.0
    assert parse_value(field, "abc").is_invalid


# --- min / max ----------------------------------------------------------------------------


def violation(field: FieldDef, raw: str, today: date | None = None) -> str | None:
    parsed = parse_value(field, raw)
    assert parsed.is_valid
    return range_violation(field, parsed.value, today=today)  # type: ignore[arg-type]


AGE = text_field("integer", name="enr_age", label="Age at screening", min="18", max="50")


@pytest.mark.parametrize("raw", ["18", "30", "50", "+50", "018"])
def test_integer_within_bounds_inclusive(raw: str) -> None:
    assert violation(AGE, raw) is None


@pytest.mark.parametrize("raw", ["17", "51", "-20"])
def test_integer_outside_bounds(raw: str) -> None:
    assert violation(AGE, raw) == "Age at screening is outside the allowed range 18–50."


def test_one_sided_bounds_name_the_side() -> None:
    low = text_field("number", label="Volume", min="0.1")
    high = text_field("number", label="Volume", max="5")
    assert violation(low, "0.05") == "Volume is below the minimum 0.1."
    assert violation(low, "100") is None
    assert violation(high, "5.01") == "Volume is above the maximum 5."
    assert violation(high, "-100") is None


def test_number_bounds_compare_numerically_not_as_text() -> None:
    field = text_field("number", min="9", max="100")
    assert violation(field, "10") is None  # "10" < "9" as text
    assert violation(field, "1e2") is None
    assert violation(field, "100.001") is not None


def test_fixed_decimal_fields_read_plain_number_bounds() -> None:
    field = text_field("number_2dp", min="0", max="1")
    assert violation(field, "0.50") is None
    assert violation(field, "1.01") is not None


def test_date_bounds() -> None:
    field = text_field("date_ymd", label="Visit date", min="2024-01-01", max="2024-12-31")
    assert violation(field, "2024-01-01") is None
    assert violation(field, "2024-12-31") is None
    assert (
        violation(field, "2023-12-31")
        == "Visit date is outside the allowed range 2024-01-01–2024-12-31."
    )
    one_sided = text_field("date_dmy", label="Visit date", min="2024-02-29")
    assert violation(one_sided, "2024-02-28") == (
        "Visit date is earlier than the minimum 2024-02-29."
    )


@pytest.mark.parametrize("word", ["today", "now", "Today"])
def test_today_and_now_bounds_are_the_as_of_date(word: str) -> None:
    field = text_field("date_ymd", label="Visit date", max=word)
    as_of = date(2026, 3, 1)
    assert violation(field, "2026-03-01", as_of) is None
    assert violation(field, "2026-03-02", as_of) == "Visit date is later than today."
    assert violation(field, "2026-03-02") is None  # no as-of date given: not judged


def test_datetime_bounds_and_now() -> None:
    field = text_field("datetime_ymd", label="Infusion time", min="2026-01-01", max="now")
    as_of = date(2026, 3, 1)
    assert violation(field, "2026-03-01 23:59", as_of) is None  # any time on the as-of day
    assert violation(field, "2026-03-02 00:00", as_of) == (
        "Infusion time is outside the allowed range 2026-01-01–today."
    )
    assert violation(field, "2025-12-31 23:59", as_of) is not None
    only_max = text_field("datetime_ymd", label="Infusion time", max="now")
    assert violation(only_max, "2026-03-02 00:00", as_of) == "Infusion time is later than today."


def test_time_bounds() -> None:
    field = text_field("time", min="08:00", max="18:00")
    assert violation(field, "8:00") is None
    assert violation(field, "18:01") is not None


@pytest.mark.parametrize("bound", ["[enr_screen_date]", "soon", "1,5"])
def test_unreadable_bounds_are_not_judged(bound: str) -> None:
    assert violation(text_field("number", max=bound), "99") is None
    assert violation(text_field("date_ymd", max=bound), "2099-01-01") is None


def test_no_range_for_text_email_or_choices() -> None:
    assert range_violation(text_field(max="5"), "zzz") is None
    assert range_violation(text_field("email", max="a"), "b@c.de") is None
    assert range_violation(coded("radio", {"1": "A", "9": "B"}), "9") is None


def test_a_long_integer_outside_the_range_is_a_range_problem_not_a_crash() -> None:
    field = text_field("integer", label="Count", min="-100", max="100")
    huge = "9" * 5000
    assert violation(field, huge) == "Count is outside the allowed range -100–100."
    assert violation(field, "-" + huge) == "Count is outside the allowed range -100–100."
    assert violation(field, "000000" + "0" * 5000 + "42") is None  # leading zeros: 42


def test_integer_bounds_compare_exactly() -> None:
    # 2**63 and 2**63 + 1 are the same float: the bound is kept as an integer.
    field = text_field("integer", max=str(2**63))
    assert violation(field, str(2**63)) is None
    assert violation(field, str(2**63 + 1)) is not None


def test_comma_decimal_bounds_are_written_with_a_comma() -> None:
    field = text_field("number_comma_decimal", label="Dose", min="0,5", max="2,5")
    assert violation(field, "0,5") is None
    assert violation(field, "2,5") is None
    assert violation(field, "2,51") == "Dose is outside the allowed range 0,5–2,5."
    assert violation(field, "0,49") is not None
    fixed = text_field("number_2dp_comma_decimal", max="1")
    assert violation(fixed, "1,00") is None
    assert violation(fixed, "1,01") is not None


def test_datetime_seconds_bounds() -> None:
    field = text_field("datetime_seconds_dmy", min="2026-01-01 08:00:00", max="2026-01-01 08:30")
    assert violation(field, "2026-01-01 08:00:00") is None
    assert violation(field, "2026-01-01 08:30:00") is None
    assert violation(field, "2026-01-01 08:30:01") is not None
    assert violation(field, "2026-01-01 07:59:59") is not None


def test_time_with_seconds_bounds() -> None:
    field = text_field("time_hh_mm_ss", min="08:00:00", max="08:00:30")
    assert violation(field, "08:00:30") is None
    assert violation(field, "08:00:31") is not None


def test_duration_bounds() -> None:
    field = text_field("time_mm_ss", label="Walk time", min="01:00", max="10:00")
    assert violation(field, "10:00") is None
    assert violation(field, "00:59") == "Walk time is outside the allowed range 01:00–10:00."
    assert violation(text_field("time_mm_ss", label="Walk", max="10:00"), "10:01") == (
        "Walk is longer than the maximum 10:00."
    )


@pytest.mark.parametrize("word", ["today", "now"])
def test_today_and_now_bounds_on_datetimes_with_seconds(word: str) -> None:
    field = text_field("datetime_seconds_ymd", label="Taken", max=word)
    as_of = date(2026, 3, 1)
    assert violation(field, "2026-03-01 23:59:59", as_of) is None
    assert violation(field, "2026-03-02 00:00:00", as_of) == "Taken is later than today."


def test_text_types_have_no_range() -> None:
    assert violation(text_field("zipcode", min="50000"), "37232") is None


def test_slider_bounds() -> None:
    field = FieldDef(name="s", form="form", field_type="slider", min="0", max="10")
    assert violation(field, "10") is None
    assert violation(field, "11") is not None


def test_a_value_of_the_wrong_type_is_not_compared() -> None:
    assert range_violation(AGE, date(2026, 1, 1)) is None
    assert range_violation(AGE, True) is None


# --- missing-data codes -------------------------------------------------------------------

CODES = frozenset({"UNK", "NA", "-99"})


@pytest.mark.parametrize(
    "field",
    [
        text_field(),
        text_field("date_ymd"),
        text_field("integer", min="0", max="10"),
        text_field("number_comma_decimal"),
        text_field("email"),
        coded("radio", {"1": "A"}),
        coded("yesno"),
        FieldDef(name="n", form="form", field_type="notes"),
        FieldDef(name="k", form="form", field_type="calc"),
    ],
    ids=lambda f: f"{f.field_type}-{f.validation}",
)
@pytest.mark.parametrize("raw", ["UNK", "NA", " UNK ", "-99"])
def test_a_missing_code_is_an_answer_without_a_value(field: FieldDef, raw: str) -> None:
    parsed = parse_value(field, raw, CODES)
    assert parsed is MISSING
    assert parsed.is_missing
    assert not parsed.is_blank
    assert not parsed.is_valid
    assert not parsed.is_invalid
    assert parsed.or_none() is None


def test_missing_codes_are_exact_and_apply_only_when_the_project_has_them() -> None:
    field = text_field("integer")
    assert parse_value(field, "unk", CODES).is_invalid  # codes are case-sensitive
    assert parse_value(field, "UNK").is_invalid  # no codes: just a bad integer
    assert parse_value(field, "-99", CODES).is_missing  # a code before a number
    assert parse_value(field, "-98", CODES).value == -98
    assert parse_value(field, "", CODES) is BLANK


def test_checkbox_columns_ignore_missing_codes() -> None:
    # A checkbox says "missing" through a column of its own (field___unk), read as 0/1.
    assert parse_value(coded("checkbox", {"1": "A"}), "1", CODES).value is True


# --- labels -------------------------------------------------------------------------------


def test_display_label_strips_html_and_falls_back_to_the_name() -> None:
    assert display_label(text_field(label="<b>Age</b>\n at  screening")) == "Age at screening"
    assert display_label(text_field(name="enr_age", label="")) == "enr_age"
    long = display_label(text_field(label="x" * 200))
    assert len(long) == 80
    assert long.endswith("…")


# --- properties ---------------------------------------------------------------------------


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_any_iso_date_parses_and_round_trips(day: date) -> None:
    parsed = parse_value(text_field("date_ymd"), day.isoformat())
    assert parsed.is_valid
    assert parsed.value == day
    assert parsed.value.isoformat() == day.isoformat()  # type: ignore[union-attr]


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)))
def test_any_datetime_to_the_minute_parses(moment: datetime) -> None:
    moment = moment.replace(second=0, microsecond=0)
    raw = moment.strftime("%Y-%m-%d %H:%M") if moment.year >= 1000 else None
    if raw is not None:
        assert parse_value(text_field("datetime_ymd"), raw).value == moment


@given(st.integers())
def test_any_int_parses_as_integer(number: int) -> None:
    parsed = parse_value(text_field("integer"), str(number))
    assert parsed.is_valid
    assert parsed.value == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_repr_without_exponent_parses_as_number(number: float) -> None:
    raw = f"{number:f}"  # fixed notation, as REDCap stores typed numbers
    parsed = parse_value(text_field("number"), raw)
    assert parsed.is_valid
    assert parsed.value == pytest.approx(float(raw))


@given(st.text())
def test_parsing_never_raises_and_reasons_never_quote_values(raw: str) -> None:
    for validation in sorted(CHECKED_VALIDATIONS):
        parsed = parse_value(text_field(validation), raw)
        if parsed.is_invalid:
            assert parsed.reason
        elif parsed.is_blank:
            assert not raw.strip()


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=0, max_value=9999))
def test_comma_decimals_read_as_their_point_twins(whole: int, fraction: int) -> None:
    point, comma = f"{whole}.{fraction:04d}", f"{whole},{fraction:04d}"
    as_comma = parse_value(text_field("number_4dp_comma_decimal"), comma)
    assert as_comma.value == parse_value(text_field("number_4dp"), point).value
    assert parse_value(text_field("number_comma_decimal"), comma).value == as_comma.value
    assert parse_value(text_field("number_4dp_comma_decimal"), point).is_invalid


@given(st.integers(), st.integers(), st.integers())
def test_integer_ranges_agree_with_python_integers(value: int, low: int, high: int) -> None:
    field = text_field("integer", min=str(low), max=str(high))
    inside = low <= value <= high
    assert (violation(field, str(value)) is None) == inside


@given(st.integers(min_value=4301, max_value=6000), st.booleans())
def test_integers_longer_than_int_reads_are_judged_by_sign_and_size(
    digits: int, minus: bool
) -> None:
    raw = ("-" if minus else "") + "1" * digits
    field = text_field("integer", min="-1000000", max="1000000")
    parsed = parse_value(field, raw)
    assert parsed.is_valid
    assert (parsed.value < 0) is minus  # type: ignore[operator]
    assert violation(field, raw) == "f is outside the allowed range -1000000–1000000."
