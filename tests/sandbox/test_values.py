"""REDCap's per-value import checks with its error wording (worker/sandbox/values.py), written
from REDCap's documented behaviour (docs/redcap-api-behaviour.md §2.11 and §3.2)."""

from __future__ import annotations

import pytest

from worker.sandbox.project import Column, Field
from worker.sandbox.values import DATE_MESSAGE, DATETIME_MESSAGE, TIME_MESSAGES, check_value, to_ymd


def column(
    ftype: str = "text",
    validation: str = "",
    *,
    choices: dict[str, str] | None = None,
    low: str = "",
    high: str = "",
    annotation: str = "",
) -> Column:
    field = Field("f", "form", ftype, "F", validation, choices or {}, low, high, annotation)
    return Column("f", "form", "value", field)


@pytest.mark.parametrize(
    ("validation", "good", "bad", "message"),
    [
        ("date_ymd", "2026-02-28", "2026-02-30", DATE_MESSAGE),
        ("date_dmy", "2026-01-05", "05-01-2026x", DATE_MESSAGE),
        ("datetime_ymd", "2026-01-05 23:59", "2026-01-05 24:00", DATETIME_MESSAGE.format(s="")),
        (
            "datetime_seconds_ymd",
            "2026-01-05 10:00:59",
            "2026-01-05 10:00",
            DATETIME_MESSAGE.format(s=":S"),
        ),
        ("time", "23:59", "7:30", TIME_MESSAGES["time"]),
        ("integer", "-12", "1.5", "The value of f must be an integer."),
        ("number", "1.5e3", "1,5", "The value of f must be numeric."),
        ("number_2dp", "3.14", "3.1", "The value of f must be numeric with 2 decimals."),
        ("number_comma_decimal", "1,5", "1.5", "The value of f must be numeric."),
        ("email", "a@example.org", "a@b", "Email address is not properly formatted."),
    ],
)
def test_a_validated_text_value_is_checked_with_redcaps_wording(
    validation: str, good: str, bad: str, message: str
) -> None:
    assert check_value(column("text", validation), good) == (good, "")
    assert check_value(column("text", validation), bad) == (bad, message)


def test_a_choice_must_be_one_of_the_fields_codes() -> None:
    radio = column("radio", choices={"1": "Yes", "0": "No"})
    assert check_value(radio, "1") == ("1", "")
    assert check_value(radio, "2") == ("2", "The value is not a valid category for f")


def test_a_slider_takes_integers_from_0_to_100() -> None:
    assert check_value(column("slider"), "100") == ("100", "")
    assert check_value(column("slider"), "101")[1] == (
        "The value of f must be an integer between 0 and 100."
    )


def test_calculated_and_file_fields_are_ignored() -> None:
    assert check_value(column("calc"), "42") == (None, "")
    assert check_value(column("file"), "x.pdf") == (None, "")


def test_checkbox_and_form_status_columns_take_their_own_codes() -> None:
    checkbox = Column("c___1", "form", "checkbox", None, "1")
    status = Column("form_complete", "form", "status")
    assert check_value(checkbox, "1") == ("1", "")
    assert check_value(checkbox, "2")[1] == "The value is not a valid category for c___1"
    assert check_value(status, "2") == ("2", "")
    assert check_value(status, "3")[1] == "The value is not a valid category for form_complete"


def test_the_range_is_enforced_only_with_force_minmax() -> None:
    soft = column("text", "integer", low="1", high="10")
    hard = column("text", "integer", low="1", high="10", annotation="@FORCE-MINMAX")
    assert check_value(soft, "11") == ("11", "")
    assert check_value(hard, "11")[1] == (
        "The value of f should not be greater than the field maximum (10)."
    )
    assert check_value(hard, "0")[1] == (
        "The value of f should not be less than the field minimum (1)."
    )
    assert check_value(hard, "9") == ("9", "")


def test_mdy_and_dmy_imports_are_stored_as_ymd() -> None:
    assert to_ymd("2/3/2026", "MDY") == "2026-02-03"
    assert to_ymd("2-3-2026 10:00", "DMY") == "2026-03-02 10:00"
    assert to_ymd("2/3/2026", "YMD") == "2/3/2026"
    assert check_value(column("text", "date_mdy"), "12/31/2026", "MDY") == ("2026-12-31", "")
