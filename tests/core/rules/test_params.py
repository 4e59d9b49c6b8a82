"""A study's parameters (worker/core/rules/params.py): attribute access, names checked,
code labels from the data dictionary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.toy_study import load, rules_folder
from worker.core.rules import Params


def test_params_read_as_attributes_and_name_a_missing_key() -> None:
    params = Params({"limits": {"weight_max": 100.0, "sites": ["a", "b"]}})
    assert params.limits.weight_max == 100.0
    assert params.limits.sites == ("a", "b")
    assert params["limits"]["weight_max"] == 100.0
    with pytest.raises(AttributeError, match=r"no parameter 'limits\.weight_min'"):
        _ = params.limits.weight_min
    with pytest.raises(AttributeError, match="read-only"):
        params.limits = {}  # type: ignore[misc]


def test_a_parameter_named_like_a_params_method_is_read_by_subscript() -> None:
    params = Params({"codes": {"label": "3", "done": "1"}})
    assert params.codes["label"] == "3"
    assert params.codes.done == params.codes["done"] == "1"
    assert callable(params.codes.label)  # the method, as documented
    with pytest.raises(AttributeError, match=r"no parameter 'codes\.missing'"):
        _ = params.codes["missing"]


def test_params_give_code_labels_from_the_data_dictionary(tmp_path: Path) -> None:
    params = load(rules_folder(tmp_path)).params
    assert params.label("visit_status", "2") == "Skipped"
    assert params.codes.visit_status.label("visit_status", None) == "blank"
