"""The study is a folder: nothing in the worker's package knows it exists."""

from __future__ import annotations

from tests.support.projects import REPO


def test_no_worker_module_names_the_second_study() -> None:
    for path in (REPO / "worker").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("bp_trial", "BP-", "rand_date", "vs_sbp"):
            assert name not in text, f"{path.relative_to(REPO)} names {name}"
