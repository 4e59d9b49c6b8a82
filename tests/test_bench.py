"""The benchmark's CI smoke run: ``python -m bench --quick`` completes and prints its whole
table. Nothing about time is asserted: CI machines vary, and the figures that matter are
the README's, from a full run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import RateJudgement, Target, judge_rate, verdicts
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
    "N = 100: check / bare export",
    "N = 100: incremental / full sync, time",
    "N = 100: incremental / full sync, records exported",
    "N = 100: incremental exports only the changed records",
    "N = 100: peak memory, N / (N/10)",
    "N = 100: most requests in any 1 s / 60 s",
    # The slow server (100 ms a request in the smoke run) and the memory scenario.
    "On a slow server: 100 ms added to every request, N = 100 participants",
    "sequential bare PyCap export",
    "first full sync (every query new; a subprocess)",
    "100 ms latency, N = 100: check / sequential bare export",
    "100 ms latency, N = 100: first full sync / check",
    "100 ms latency, N = 100: most requests in any 1 s / 60 s",
    "check at N = 1,000",
    "check at N/10 = 100",
    "memory, N = 1,000: peak memory, N / (N/10)",
    "memory, N = 1,000: most requests in any 1 s / 60 s",
    "No target judged.",
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
    # No more requests in any second than the ceiling (50/s in the smoke run), in any of
    # the three scenarios' sandboxes.
    targets = table.split("\nTargets\n", 1)[1]
    rates = [line for line in targets.splitlines() if "most requests in any 1 s / 60 s" in line]
    assert len(rates) == 3
    for line in rates:
        second, _, minute, _, ceiling, _, per_minute = line.split("60 s", 1)[1].split()[:7]
        assert int(second) <= float(ceiling)
        assert int(minute) <= float(per_minute)
    # The first full sync on the slow server wrote a query per finding.
    first_sync = table.split("first full sync (every query new; a subprocess)", 1)[1]
    assert int(first_sync.split(" imports of ", 1)[1].split()[0].replace(",", "")) > 0
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


def test_the_ceiling_is_judged_per_second_and_per_minute_on_each_sandbox() -> None:
    # Five every 1.05 s (the limiter's bursts at 5/s): within both limits.
    bursts = [1.05 * w + 0.001 * i for w in range(70) for i in range(5)]
    assert judge_rate([bursts], 5.0) == RateJudgement(5.0, 5, 290)
    assert judge_rate([bursts], 5.0).ok
    # Six in one second breaks the per-second limit, however quiet the minute.
    assert not judge_rate([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5]], 5.0).ok
    # Below 1/s a second may hold one request; the minute judges. At 0.5/s (30 a minute)
    # one every 1.5 s is 40 in a minute, one every 2.1 s is 29.
    every_1_5_s = [1.5 * i for i in range(100)]
    assert judge_rate([every_1_5_s], 0.5) == RateJudgement(0.5, 1, 40)
    assert not judge_rate([every_1_5_s], 0.5).ok
    every_2_1_s = [2.1 * i for i in range(100)]
    assert judge_rate([every_2_1_s], 0.5) == RateJudgement(0.5, 1, 29)
    assert judge_rate([every_2_1_s], 0.5).ok
    # Each sandbox is a server of its own: two logs are not merged into one.
    half = [0.0, 0.2, 0.4]
    assert judge_rate([half, half], 5.0).most_in_a_second == 3
    assert judge_rate([], 5.0) == RateJudgement(5.0, 0, 0)


def test_every_target_prints_its_figure_and_verdict_and_the_closing_line_counts_them() -> None:
    met = Target("check / sequential bare export", "0.40", "<= 0.5", True)
    missed = Target("first full sync / check", "3.10", "<= 2.5", False)
    aside = Target("peak memory, N / (N/10)", "1.20", "<= 2.5", True, "judged at N = 50,000 only")
    assert met.line().split()[-4:] == ["0.40", "<=", "0.5", "met"]
    assert missed.line().endswith("<= 2.5  NOT MET")
    assert aside.line().endswith("(judged at N = 50,000 only)")
    assert verdicts([met, aside]) == "Every judged target met (1 of 2 judged)."
    assert (
        verdicts([met, missed, aside]) == "1 of 2 judged targets NOT MET: first full sync / check"
    )
    assert verdicts([aside]) == "No target judged."


def test_the_benchmark_measures_compiled_code_as_an_installed_worker_runs_it(
    tmp_path: Path,
) -> None:
    """Every module of the worker and of the studies' rules has its bytecode ready before a
    run is measured, whatever PYTHONDONTWRITEBYTECODE says (a copy of the tree, so bytecode
    left by an earlier run cannot pass the test)."""
    from importlib.util import cache_from_source

    from bench.__main__ import compile_sources

    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("worker", "rules"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=ignore)
    compile_sources(tmp_path)
    sources = [
        *tmp_path.joinpath("worker").rglob("*.py"),
        *tmp_path.joinpath("rules").rglob("*.py"),
    ]
    assert len(sources) > 100
    assert [s for s in sources if not Path(cache_from_source(str(s))).is_file()] == []
