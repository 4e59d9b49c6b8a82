"""``init`` (worker/cli/init.py): a new study folder written all or nothing, never over an
existing one. End to end, with doctor and check on what it wrote: tests/e2e/test_init.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.cli import main

pytestmark = pytest.mark.e2e

EXPECTED = {"config.toml", "mapping.toml", "rules", "query_instrument.zip", "query_instrument.csv"}


def test_an_empty_folder_is_filled_and_no_staging_folder_is_left(
    redcap_env, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "study"
    target.mkdir()
    assert main(["init", str(target)]) == 0
    assert {p.name for p in target.iterdir()} >= EXPECTED
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"wrote {target}: config.toml, mapping.toml (")
    assert all(line.startswith("next: ") for line in out[1:])


def test_a_file_in_the_way_is_refused_in_one_line_and_kept(
    redcap_env, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "study"
    target.write_text("mine", encoding="utf-8")
    assert main(["init", str(target)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"error: {target} already exists: init never overwrites; name a new folder"
    assert target.read_text(encoding="utf-8") == "mine"
    assert len(redcap_env.request_log) == 0  # refused before asking REDCap anything
