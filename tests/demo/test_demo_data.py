"""The dNK demo data (demo/nk_trial/demo_data.py) and the findings it seeds.

Nothing here imports the worker: the demo is REDCap's side of the world and the findings list
is an oracle written from the protocol, so both are checked only for shape and consistency.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo" / "nk_trial"
AS_OF = dt.date(2026, 11, 26)
OTHER_AS_OF = dt.date(2031, 3, 1)

# Every check of the specification (rules/nk_trial/SPEC.md, §4), hard-coded on purpose.
CHECK_IDS = (
    "NK-ELG-01",
    "NK-ELG-02",
    "NK-CON-01",
    "NK-CON-02",
    "NK-ENR-01",
    "NK-TRT-01",
    "NK-TRT-02",
    "NK-TRT-03",
    "NK-TRT-04",
    "NK-TRT-05",
    "NK-TRT-06",
    "NK-TRT-07",
    "NK-TRT-08",
    "NK-WIN-01",
    "NK-WIN-02",
    "NK-WIN-03",
    "NK-LAB-01",
    "NK-PRG-01",
    "NK-PRG-02",
    "NK-PRG-03",
    "NK-PRG-04",
    "NK-PRG-05",
    "NK-PRG-06",
    "NK-SAE-01",
    "NK-SAE-02",
    "NK-SAE-03",
    "NK-SAE-04",
    "NK-EOS-01",
    "DQ-REQUIRED",
    "DQ-TYPE",
    "DQ-RANGE",
    "DQ-CHOICE",
    "DQ-HIDDEN",
)
PSEUDO = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")


def _load(name: str) -> object:
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nk_demo_data", DEMO_DIR / "demo_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def metadata() -> dict[str, dict[str, str]]:
    return {field["field_name"]: field for field in _load("metadata.json")}


@pytest.fixture(scope="module")
def designated() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in _load("form_event_mapping.json"):
        out.setdefault(entry["unique_event_name"], set()).add(entry["form"])
    return out


@pytest.fixture(scope="module")
def repeating() -> tuple[set[str], dict[str, str]]:
    """(repeating events, event -> repeating instrument)."""
    events: set[str] = set()
    forms: dict[str, str] = {}
    for entry in _load("repeating_forms_events.json"):
        if entry["form_name"]:
            forms[entry["event_name"]] = entry["form_name"]
        else:
            events.add(entry["event_name"])
    return events, forms


@pytest.fixture(scope="module")
def rows(demo: ModuleType) -> list[dict[str, str]]:
    return demo.generate(AS_OF)


@pytest.fixture(scope="module")
def findings() -> list[dict[str, object]]:
    return _load("demo_findings.json")


def _date_fields(metadata: dict[str, dict[str, str]]) -> set[str]:
    return {
        name
        for name, field in metadata.items()
        if field["text_validation_type_or_show_slider_number"] == "date_ymd"
    }


def _as_offsets(
    rows: list[dict[str, str]], as_of: dt.date, date_fields: set[str]
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for row in rows:
        shaped: dict[str, object] = {}
        for name, value in row.items():
            if name in date_fields:
                try:
                    shaped[name] = (dt.date.fromisoformat(value) - as_of).days
                except ValueError:
                    shaped[name] = "<invalid date>"
            else:
                shaped[name] = value
        out.append(shaped)
    return out


def test_deterministic(demo: ModuleType) -> None:
    assert demo.generate(AS_OF) == demo.generate(AS_OF)
    assert demo.generate(AS_OF, participants=97) == demo.generate(AS_OF, participants=97)


def test_demo_records(rows: list[dict[str, str]]) -> None:
    records = sorted({row["record_id"] for row in rows}, key=int)
    assert records == [str(n) for n in range(1, len(records) + 1)]
    assert 14 <= len(records) <= 20


def test_rows_use_designated_fields_only(
    rows: list[dict[str, str]],
    metadata: dict[str, dict[str, str]],
    designated: dict[str, set[str]],
    repeating: tuple[set[str], dict[str, str]],
) -> None:
    repeating_forms = repeating[1]
    forms = {field["form_name"] for field in metadata.values()}
    seen: set[tuple[str, str, str, str]] = set()
    for row in rows:
        key = tuple(row[name] for name in PSEUDO)
        assert key not in seen, key
        seen.add(key)
        event = row["redcap_event_name"]
        assert event in designated, event
        assert event != "queries_arm_1"
        row_forms = {repeating_forms[event]} if event in repeating_forms else designated[event]
        filled_forms = set()
        for name, value in row.items():
            assert isinstance(value, str), (key, name)
            if name in PSEUDO:
                continue
            assert value != "", (key, name)
            if name.endswith("_complete") and name.removesuffix("_complete") in forms:
                assert value in {"0", "1", "2"}
                continue
            assert name in metadata, (key, name)
            assert name != "record_id"
            form = metadata[name]["form_name"]
            assert form in row_forms, (key, name)
            assert form != "data_query"
            filled_forms.add(form)
        completes = {name.removesuffix("_complete") for name in row if name.endswith("_complete")}
        assert completes == filled_forms, key


def test_repeating_rows_are_shaped(
    rows: list[dict[str, str]], repeating: tuple[set[str], dict[str, str]]
) -> None:
    repeating_events, repeating_forms = repeating
    for row in rows:
        event = row["redcap_event_name"]
        instrument = row["redcap_repeat_instrument"]
        instance = row["redcap_repeat_instance"]
        if event in repeating_events:
            assert instrument == ""
            assert instance.isdigit(), row
            assert int(instance) >= 1, row
        elif event in repeating_forms:
            assert instrument == repeating_forms[event]
            assert instance.isdigit(), row
            assert int(instance) >= 1, row
        else:
            assert instrument == ""
            assert instance == ""


def test_dates_are_valid_and_past_except_seeded(
    rows: list[dict[str, str]],
    metadata: dict[str, dict[str, str]],
    findings: list[dict[str, object]],
) -> None:
    seeded = {
        (f["record"], f["event"], f["instance"], f["field"])
        for f in findings
        if f["rule"] == "DQ-TYPE"
    }
    invalid = set()
    for row in rows:
        instance = int(row["redcap_repeat_instance"]) if row["redcap_repeat_instance"] else None
        for name in _date_fields(metadata) & row.keys():
            try:
                assert dt.date.fromisoformat(row[name]) < AS_OF
            except ValueError:
                invalid.add((row["record_id"], row["redcap_event_name"], instance, name))
    assert invalid
    assert invalid <= seeded


def test_findings_well_formed(
    findings: list[dict[str, object]], repeating: tuple[set[str], dict[str, str]]
) -> None:
    repeating_events, repeating_forms = repeating
    assert isinstance(findings, list)
    keys = Counter()
    for finding in findings:
        assert set(finding) == {"rule", "record", "event", "instance", "field", "why"}, finding
        assert finding["rule"] in CHECK_IDS
        assert isinstance(finding["record"], str)
        assert isinstance(finding["why"], str)
        assert finding["why"]
        if finding["event"] in repeating_events or finding["event"] in repeating_forms:
            assert isinstance(finding["instance"], int)
            assert finding["instance"] >= 1
        else:
            assert finding["instance"] is None, finding
        keys[
            (
                finding["rule"],
                finding["record"],
                finding["event"],
                finding["instance"],
                finding["field"],
            )
        ] += 1
    assert all(count == 1 for count in keys.values()), keys.most_common(3)


def test_every_check_is_seeded(findings: list[dict[str, object]]) -> None:
    seeded = {finding["rule"] for finding in findings}
    assert set(CHECK_IDS) - seeded == set()


def test_findings_reference_existing_data(
    findings: list[dict[str, object]],
    rows: list[dict[str, str]],
    metadata: dict[str, dict[str, str]],
    designated: dict[str, set[str]],
) -> None:
    records = {row["record_id"] for row in rows}
    row_keys = {
        (row["record_id"], row["redcap_event_name"], row["redcap_repeat_instance"]) for row in rows
    }
    for finding in findings:
        assert finding["record"] in records, finding
        assert finding["event"] in designated, finding
        assert finding["field"] in metadata, finding
        assert metadata[finding["field"]]["form_name"] in designated[finding["event"]], finding
        if finding["instance"] is not None:
            key = (finding["record"], finding["event"], str(finding["instance"]))
            assert key in row_keys, finding


def test_structure_is_the_same_for_any_as_of(
    demo: ModuleType, metadata: dict[str, dict[str, str]]
) -> None:
    date_fields = _date_fields(metadata)
    first = _as_offsets(demo.generate(AS_OF), AS_OF, date_fields)
    second = _as_offsets(demo.generate(OTHER_AS_OF), OTHER_AS_OF, date_fields)
    assert first == second


@pytest.mark.slow
def test_scales_to_5000_participants(demo: ModuleType) -> None:
    started = time.perf_counter()
    rows = demo.generate(AS_OF, participants=5000)
    elapsed = time.perf_counter() - started
    records = {row["record_id"] for row in rows}
    assert records == {str(n) for n in range(1, 5001)}
    assert elapsed < 10, elapsed


def test_small_participant_counts(demo: ModuleType) -> None:
    assert demo.generate(AS_OF, participants=0) == []
    rows = demo.generate(AS_OF, participants=3)
    assert {row["record_id"] for row in rows} == {"1", "2", "3"}
