"""Medians, ratios, the machine, and the printed table."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from bench.measure import Floor, Run
from bench.sandbox import max_in_window
from worker.redcap_client.ratelimit import RateLimiter

# The targets, judged at N = 5,000.
TARGET_N = 5000
CHECK_OVER_FLOOR = 1.3
INCREMENTAL_OVER_FULL = 0.05
MEMORY_N_OVER_TENTH = 2.0


@dataclass
class Round:
    floor: Floor
    check: Run
    small_check: Run
    incremental: Run  # warm, as the container's scheduler runs it (judged)
    full: Run  # warm
    cold_incremental: Run  # ``python -m worker sync --incremental``, for reference


@dataclass
class Scale:
    participants: int
    ceiling: float
    batch_size: int
    rounds: list[Round] = field(default_factory=list)
    changed: frozenset[str] = frozenset()
    records: int = 0
    rows: int = 0
    most_in_a_second: int = 0  # arrivals in any 1 s window
    most_in_a_minute: int = 0  # ... in any 60 s window (REDCap's threshold is per minute)
    closest_s: float = 0.0  # the shortest time between two consecutive arrivals
    requests_seen: int = 0
    setup_s: float = 0.0
    setup_rate: int = 0  # the most requests of the set-up syncs within any 1 s
    sandbox_start_s: float = 0.0

    def med(self, value: Callable[[Round], float]) -> float:
        return median(value(r) for r in self.rounds)

    def each(self, value: Callable[[Round], float], fmt: str = "{:.2f}") -> str:
        return " ".join(fmt.format(value(r)) for r in self.rounds)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024**2:.0f} GiB RAM"
                break
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}; {cpu}; "
        f"{os.cpu_count()} CPUs{memory}; Python {platform.python_version()}"
    )


def _row(label: str, value: str = "", detail: str = "") -> str:
    return f"  {label:<46} {value:>10}  {detail}".rstrip()


def _verdict(ok: bool, judged: bool) -> str:
    if not judged:
        return "(judged at N = 5,000 only)"
    return "met" if ok else "NOT MET"


def render(scales: Iterable[Scale], *, machine: str, quick: bool, elapsed: float) -> str:
    scales = list(scales)
    lines = [
        "Worker benchmark: python -m bench" + (" --quick (smoke run)" if quick else ""),
        f"  run:      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all",
        f"  machine:  {machine}",
    ]
    if scales:
        s = scales[0]
        lines.append(
            f"  settings: config.example.toml; batch size {s.batch_size}; request-rate "
            f"ceiling {s.ceiling:g}/s for the worker and the floor alike; medians of "
            f"{len(s.rounds)} round(s)"
        )
    for scale in scales:
        lines.extend(_scale_table(scale, quick=quick))
    return "\n".join(lines) + "\n"


def least_time(requests: int, ceiling: float) -> float:
    """The least time from the first to the last of ``requests`` starts the worker's rate
    limiter allows at ``ceiling`` (a window for every ``burst`` starts)."""
    limiter = RateLimiter(ceiling)
    return max(0, requests - 1) // limiter.burst * limiter.window


def _scale_table(scale: Scale, *, quick: bool) -> list[str]:
    n = scale.participants
    small = max(1, n // 10)
    limiter = RateLimiter(scale.ceiling)
    last = scale.rounds[-1]
    floor_requests = last.floor.traffic.requests
    check_requests = last.check.traffic.requests
    inc_records = scale.med(lambda r: len(r.incremental.traffic.exported_records))
    full_records = scale.med(lambda r: len(r.full.traffic.exported_records))
    only_changed = all(
        r.incremental.traffic.exported_records == scale.changed
        and r.cold_incremental.traffic.exported_records == scale.changed
        for r in scale.rounds
    )
    check_ratio = scale.med(lambda r: r.check.seconds / r.floor.seconds)
    sync_ratio = scale.med(lambda r: r.incremental.seconds / r.full.seconds)
    cold_ratio = scale.med(lambda r: r.cold_incremental.seconds / r.full.seconds)
    mem = scale.med(lambda r: r.check.peak_rss_kib / 1024)
    mem_small = scale.med(lambda r: r.small_check.peak_rss_kib / 1024)
    mem_ratio = mem / mem_small
    # The ceiling is a count, as REDCap counts hits: no more in any second, nor in a minute.
    rate_ok = (
        scale.most_in_a_second <= scale.ceiling and scale.most_in_a_minute <= 60 * scale.ceiling
    )
    judged = not quick and n == TARGET_N

    def seconds(value: Callable[[Round], float]) -> tuple[str, str]:
        return f"{scale.med(value):.2f} s", "rounds: " + scale.each(value)

    def requests(value: Callable[[Round], Run]) -> str:
        return (
            f"{scale.med(lambda r: value(r).traffic.requests):g} / "
            f"{scale.med(lambda r: value(r).traffic.record_exports):g}"
        )

    return [
        "",
        f"N = {n:,} participants: {scale.records:,} records, {scale.rows:,} rows (the "
        f"floor's export); sandbox up in {scale.sandbox_start_s:.1f} s; set-up (first full "
        f"sync, a query written per finding) {scale.setup_s:.1f} s",
        _row("measure", "median", "each round"),
        _row("bare batched PyCap export (floor)", *seconds(lambda r: r.floor.seconds)),
        _row(
            f"  {floor_requests} requests; at most {scale.ceiling:g} a second take",
            f"{least_time(floor_requests, scale.ceiling):.2f} s",
            "at least (first to last start)",
        ),
        _row("check, end to end (a subprocess)", *seconds(lambda r: r.check.seconds)),
        _row("  launch to first request (start-up)", *seconds(lambda r: r.check.startup)),
        _row(
            f"  first to last of its {check_requests} requests",
            *seconds(lambda r: r.check.requesting),
        ),
        _row(
            "    (the rate ceiling allows at least)",
            f"{least_time(check_requests, scale.ceiling):.2f} s",
        ),
        _row("  last request to exit", *seconds(lambda r: r.check.after_requests)),
        _row(
            f"incremental sync, {len(scale.changed)} records changed (1 %)",
            *seconds(lambda r: r.incremental.seconds),
        ),
        _row("  as the container runs it: a job of the running worker (bench/warm.py)"),
        _row("  requests in all / record exports", requests(lambda r: r.incremental)),
        _row("  records exported", f"{inc_records:g}", f"of {scale.records:,}"),
        _row("full sync, after the same change", *seconds(lambda r: r.full.seconds)),
        _row("  a job of the same running worker"),
        _row("  requests in all / record exports", requests(lambda r: r.full)),
        _row("  records exported", f"{full_records:g}", f"of {scale.records:,}"),
        _row(
            "for reference: sync --incremental from the shell",
            *seconds(lambda r: r.cold_incremental.seconds),
        ),
        _row(
            "  launch to first request (start-up)",
            *seconds(lambda r: r.cold_incremental.startup),
        ),
        _row("  requests in all / record exports", requests(lambda r: r.cold_incremental)),
        _row("  / full sync", f"{cold_ratio:.1%}", "(not a target: start-up is most of it)"),
        _row(
            f"peak memory of check, N = {n:,}",
            f"{mem:.0f} MiB",
            "rounds: " + scale.each(lambda r: r.check.peak_rss_kib / 1024, "{:.0f}"),
        ),
        _row(
            f"peak memory of check, N/10 = {small:,}",
            f"{mem_small:.0f} MiB",
            "rounds: " + scale.each(lambda r: r.small_check.peak_rss_kib / 1024, "{:.0f}"),
        ),
        _row(
            "most requests arriving within any 1 s",
            f"{scale.most_in_a_second}",
            f"of the sandbox's {scale.requests_seen} requests (the limiter: {limiter.burst} "
            f"starts per {limiter.window:.2f} s)",
        ),
        _row(
            "  by the floor / check / incremental / full",
            "",
            " / ".join(
                str(max(max_in_window(measured(r).traffic.arrivals) for r in scale.rounds))
                for measured in (
                    lambda r: r.floor,
                    lambda r: r.check,
                    lambda r: r.incremental,
                    lambda r: r.full,
                )
            )
            + f"; set-up syncs {scale.setup_rate:g}",
        ),
        _row(
            "most requests arriving within any 60 s",
            f"{scale.most_in_a_minute}",
            f"REDCap counts per minute; closest two requests {scale.closest_s * 1000:.0f} ms apart",
        ),
        "",
        _row("target", "measured", "limit"),
        _row(
            "check / bare export",
            f"{check_ratio:.2f}",
            f"<= {CHECK_OVER_FLOOR}  {_verdict(check_ratio <= CHECK_OVER_FLOOR, judged)}",
        ),
        _row(
            "incremental / full sync, time",
            f"{sync_ratio:.1%}",
            f"<= {INCREMENTAL_OVER_FULL:.0%}  "
            + _verdict(sync_ratio <= INCREMENTAL_OVER_FULL, judged),
        ),
        _row(
            "incremental / full sync, records exported",
            f"{inc_records / full_records:.1%}",
            f"<= {INCREMENTAL_OVER_FULL:.0%}  "
            + _verdict(inc_records / full_records <= INCREMENTAL_OVER_FULL, judged),
        ),
        _row(
            "incremental exports only the changed records",
            "yes" if only_changed else "no",
            f"{len(scale.changed)} changed  {_verdict(only_changed, judged)}",
        ),
        _row(
            "peak memory, N / (N/10)",
            f"{mem_ratio:.2f}",
            f"<= {MEMORY_N_OVER_TENTH:g}  {_verdict(mem_ratio <= MEMORY_N_OVER_TENTH, judged)}",
        ),
        _row(
            "most requests in any 1 s / ceiling",
            f"{scale.most_in_a_second} / {scale.ceiling:g}",
            f"<=, and in 60 s <= {60 * scale.ceiling:g}  {_verdict(rate_ok, judged)}",
        ),
    ]
