"""The benchmark's CI smoke run: ``python -m bench --quick`` completes and prints its whole
table. Nothing about time is asserted: CI machines vary, and the figures that matter are
the README's, from a full run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.sandbox import closest, max_in_window
from tests.support.projects import REPO

ROWS = (
    "bare batched PyCap export (floor)",
    "check, end to end (a subprocess)",
    "launch to first request (start-up)",
    "last request to exit",
    "incremental sync, 1 records changed (1 %)",
    "as the container runs it",
    "records exported",
    "full sync, after the same change",
    "for reference: sync --incremental from the shell",
    "peak memory of check, N = 100",
    "peak memory of check, N/10 = 10",
    "most requests arriving within any 1 s",
    "most requests arriving within any 60 s",
    "check / bare export",
    "incremental / full sync, time",
    "incremental / full sync, records exported",
    "incremental exports only the changed records",
    "peak memory, N / (N/10)",
    "most requests in any 1 s / ceiling",
)


@pytest.mark.bench
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
    # The incremental syncs exported only the record the benchmark changed.
    incremental = table.split("incremental exports only the changed records", 1)[1]
    assert incremental.split()[0] == "yes"
    # ... and the warm one read no project structure: the changed IDs, their rows, the
    # written records' existence, a write.
    warm = table.split("as the container runs it", 1)[1]
    assert warm.split("requests in all / record exports", 1)[1].split()[:3] == ["4", "/", "3"]
    # No more requests in any second than the ceiling (50/s in the smoke run).
    rate = table.split("most requests in any 1 s / ceiling", 1)[1].split()
    assert int(rate[0]) <= float(rate[2])
    assert "Traceback" not in done.stderr


def test_rates_are_counted_from_arrival_times() -> None:
    every_fifth = [0.2 * i for i in range(30)]
    assert max_in_window(every_fifth) == 5  # [t, t + 1): the sixth falls just outside
    assert max_in_window(every_fifth, 3.0) == 15
    # The limiter's bursts at 5/s: five at once, then five 1.05 s later, and so on.
    bursts = [1.05 * w + 0.001 * i for w in range(12) for i in range(5)]
    assert max_in_window(bursts) == 5
    assert max_in_window(bursts, 60.0) == 60
    assert max_in_window([0.0, 0.5, 0.99, 1.0]) == 3
    assert max_in_window([]) == 0
    assert closest(bursts) == pytest.approx(0.001)
    assert closest([1.0]) is None
