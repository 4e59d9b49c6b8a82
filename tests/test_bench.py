"""The benchmark's CI smoke run: ``python -m bench --quick`` completes and prints its whole
table. Nothing about time is asserted: CI machines vary, and the figures that matter are
the README's, from a full run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.sandbox import closest, max_in_window, peak_rate
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

ROWS = (
    "bare batched PyCap export (floor)",
    "check, end to end (a subprocess)",
    "launch to first request (start-up)",
    "last request to exit",
    "incremental sync, 1 records changed (1 %)",
    "records exported",
    "full sync, after the same change",
    "peak memory of check, N = 100",
    "peak memory of check, N/10 = 10",
    "highest request rate seen by the sandbox",
    "closest two requests / most within 1 s",
    "check / bare export",
    "incremental / full sync, time",
    "incremental / full sync, records exported",
    "incremental exports only the changed records",
    "peak memory, N / (N/10)",
    "highest request rate / ceiling",
)


def test_the_quick_benchmark_runs_and_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    assert "machine:" in table
    assert "N = 100 participants" in table
    for row in ROWS:
        assert row in table, f"no row {row!r} in:\n{table}"
    # The incremental sync exported only the record the benchmark changed.
    incremental = table.split("incremental exports only the changed records", 1)[1]
    assert incremental.split()[0] == "yes"
    assert "Traceback" not in done.stderr


def test_rates_are_counted_from_arrival_times() -> None:
    every_fifth = [0.2 * i for i in range(30)]
    assert max_in_window(every_fifth) == 5
    assert peak_rate(every_fifth, slack=0) == pytest.approx(5.0)
    # A request arriving 15 ms late, then one on time: within the arrival-time slack.
    jittered = [*every_fifth[:10], every_fifth[10] + 0.015, *every_fifth[11:]]
    assert peak_rate(jittered) <= 5.0
    assert closest(jittered) == pytest.approx(0.185)
    burst = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 1.0]
    assert max_in_window(burst) == 6
    assert peak_rate(burst) > 5.5
    assert closest(burst) == pytest.approx(0.01)
    assert peak_rate([0.0, 0.01]) == pytest.approx(1.0)  # a short stretch counts as 1 s
    assert peak_rate([]) == 0.0
    assert closest([1.0]) is None
