"""Text from REDCap made safe to show (worker/text_safety.py): controls and invisible
characters escaped so they are seen, not obeyed; lone surrogates escaped so nothing fails to
encode; spreadsheet formulas quoted."""

from __future__ import annotations

from worker.text_safety import csv_cell, has_surrogates, json_text, visible, visible_text


def test_visible_escapes_only_what_harms() -> None:
    assert visible("Ünïcødé ok · – «»") == "Ünïcødé ok · – «»"
    assert visible("a\nb\tc") == "a\\x0ab\\x09c"
    assert visible_text("a\nb\tc\x1b") == "a\nb\tc\\x1b"
    assert visible("\u200bzero\ufeff\u2028") == "\\u200bzero\\ufeff\\u2028"
    assert visible("\u200djoiner\xa0nbsp") == "\u200djoiner\xa0nbsp"


def test_every_formula_leader_is_neutralised_but_plain_negative_numbers_are_not() -> None:
    for leader in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(f"{leader}1+1") == f"'{leader}1+1"
    for number in ("-1", "-12.5", "-0,5"):
        assert csv_cell(number) == number
    for text in ("1-2", "a=b", "", "plain"):
        assert csv_cell(text) == text


def test_a_csv_cell_is_escaped_as_free_text_before_it_is_judged() -> None:
    assert csv_cell("=A1\x1b") == "'=A1\\x1b"
    assert csv_cell("two\nlines") == "two\nlines"


def test_json_text_escapes_lone_surrogates_only() -> None:
    assert json_text("a\ud800b") == "a\\ud800b"
    assert json_text("tab\t \U0001f600") == "tab\t \U0001f600"
    json_text("\udfff").encode("utf-8")  # would raise on a lone surrogate


def test_has_surrogates_finds_lone_ones_not_paired_characters() -> None:
    assert has_surrogates("id\ud800")
    assert not has_surrogates("ok \U0001f600")
