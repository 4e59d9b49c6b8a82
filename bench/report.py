"""Medians, ratios, the machine, and the printed table."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from bench.measure import Floor, Run
from bench.sandbox import max_in_window
from worker.redcap_client.ratelimit import RateLimiter

# The first targets, judged at N = 5,000.
TARGET_N = 5000
CHECK_OVER_FLOOR = 1.3
INCREMENTAL_OVER_FULL = 0.05
MEMORY_N_OVER_TENTH = 2.0
# Issue 17's: on a slow server (0.5 s a request, the default ceiling of 5/s) at N = 5,000,
# check against a sequential bare export and the first full sync against check; peak memory
# at N = 50,000 against N = 5,000.
LATENCY_MS = 500
LATENCY_CEILING = 5.0
LATENCY_N = 5000
CHECK_OVER_SEQUENTIAL = 0.5
FIRST_SYNC_OVER_CHECK = 2.5
MEMORY_N = 50_000
MEMORY_OVER_TENTH = 2.5


@dataclass(frozen=True)
class RateJudgement:
    """The most requests that arrived at any one sandbox within 1 s and within 60 s, against
    the ceiling: REDCap counts a token's requests per minute, the ceiling is per second.

    Counts are whole: at a ceiling of 1/s or more, keeping every second within it keeps every
    minute within 60 times it. Below 1/s one request in a second is allowed (the worker's
    limiter lets one start at a time, windows apart), and the minute is the real judge."""

    ceiling: float
    most_in_a_second: int
    most_in_a_minute: int

    @property
    def per_second(self) -> float:
        return max(1.0, self.ceiling)

    @property
    def ok(self) -> bool:
        return (
            self.most_in_a_second <= self.per_second and self.most_in_a_minute <= 60 * self.ceiling
        )


def judge_rate(logs: Iterable[Sequence[float]], ceiling: float) -> RateJudgement:
    """Judge each sandbox's arrival times (one sequence per sandbox: each is a server of its
    own, counting only its own requests)."""
    logs = list(logs)
    return RateJudgement(
        ceiling=ceiling,
        most_in_a_second=max((max_in_window(times) for times in logs), default=0),
        most_in_a_minute=max((max_in_window(times, 60.0) for times in logs), default=0),
    )


@dataclass(frozen=True)
class Target:
    """One target: the measured figure, the limit, and whether it is met. ``unjudged`` says
    why it is not judged when the run's conditions are not the target's (else None)."""

    label: str
    measured: str
    limit: str
    met: bool
    unjudged: str | None = None

    @property
    def verdict(self) -> str:
        if self.unjudged is not None:
            return f"({self.unjudged})"
        return "met" if self.met else "NOT MET"

    def line(self) -> str:
        return _target_row(self.label, self.measured, f"{self.limit}  {self.verdict}")


def _target_row(label: str, measured: str, detail: str) -> str:
    return f"  {label:<62} {measured:>10}  {detail}".rstrip()


def verdicts(targets: Sequence[Target]) -> str:
    """The closing line: how many of the judged targets are met."""
    judged = [t for t in targets if t.unjudged is None]
    missed = [t for t in judged if not t.met]
    if not judged:
        return "No target judged."
    if not missed:
        return f"Every judged target met ({len(judged)} of {len(targets)} judged)."
    return f"{len(missed)} of {len(judged)} judged targets NOT MET: " + "; ".join(
        t.label for t in missed
    )


@dataclass
class LatencyRun:
    """A fresh project on a slow server: the sequential bare export, check, first sync."""

    participants: int
    latency_ms: int
    ceiling: float
    floor: Floor
    check: Run
    first_sync: Run
    rate: RateJudgement
    sandbox_start_s: float


@dataclass
class MemoryRun:
    """One check at N and one at N/10, each against a sandbox of its own."""

    participants: int
    check: Run
    small_check: Run
    rate: RateJudgement
    sandbox_start_s: float


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


def render(
    scales: Iterable[Scale],
    *,
    machine: str,
    quick: bool,
    elapsed: float,
    latency: LatencyRun | None = None,
    memory: MemoryRun | None = None,
    ceiling: float,
    batch_size: int,
) -> str:
    scales = list(scales)
    rounds = f"; medians of {len(scales[0].rounds)} round(s)" if scales else ""
    lines = [
        "Worker benchmark: python -m bench" + (" --quick (smoke run)" if quick else ""),
        f"  run:      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all",
        f"  machine:  {machine}",
        f"  settings: config.example.toml; batch size {batch_size}; request-rate ceiling "
        f"{ceiling:g}/s for the worker and the floor alike{rounds}",
    ]
    targets: list[Target] = []
    for scale in scales:
        lines.extend(_scale_table(scale))
        targets.extend(_scale_targets(scale, quick=quick))
    if latency is not None:
        lines.extend(_latency_table(latency))
        targets.extend(_latency_targets(latency, quick=quick))
    if memory is not None:
        lines.extend(_memory_table(memory))
        targets.extend(_memory_targets(memory, quick=quick))
    lines += ["", "Targets", _target_row("target", "measured", "limit")]
    lines += [target.line() for target in targets]
    lines += ["", verdicts(targets)]
    return "\n".join(lines) + "\n"


def least_time(requests: int, ceiling: float) -> float:
    """The least time from the first to the last of ``requests`` starts the worker's rate
    limiter allows at ``ceiling`` (a window for every ``burst`` starts)."""
    limiter = RateLimiter(ceiling)
    return max(0, requests - 1) // limiter.burst * limiter.window


def _scale_targets(scale: Scale, *, quick: bool) -> list[Target]:
    n = scale.participants
    inc_records = scale.med(lambda r: len(r.incremental.traffic.exported_records))
    full_records = scale.med(lambda r: len(r.full.traffic.exported_records))
    only_changed = all(
        r.incremental.traffic.exported_records == scale.changed
        and r.cold_incremental.traffic.exported_records == scale.changed
        for r in scale.rounds
    )
    check_ratio = scale.med(lambda r: r.check.seconds / r.floor.seconds)
    sync_ratio = scale.med(lambda r: r.incremental.seconds / r.full.seconds)
    mem = scale.med(lambda r: r.check.peak_rss_kib / 1024)
    mem_small = scale.med(lambda r: r.small_check.peak_rss_kib / 1024)
    mem_ratio = mem / mem_small
    unjudged = _unjudged(quick, n == TARGET_N, f"judged at N = {TARGET_N:,} only")
    at = f"N = {n:,}: "
    return [
        Target(
            at + "check / bare export",
            f"{check_ratio:.2f}",
            f"<= {CHECK_OVER_FLOOR}",
            check_ratio <= CHECK_OVER_FLOOR,
            unjudged,
        ),
        Target(
            at + "incremental / full sync, time",
            f"{sync_ratio:.1%}",
            f"<= {INCREMENTAL_OVER_FULL:.0%}",
            sync_ratio <= INCREMENTAL_OVER_FULL,
            unjudged,
        ),
        Target(
            at + "incremental / full sync, records exported",
            f"{inc_records / full_records:.1%}",
            f"<= {INCREMENTAL_OVER_FULL:.0%}",
            inc_records / full_records <= INCREMENTAL_OVER_FULL,
            unjudged,
        ),
        Target(
            at + "incremental exports only the changed records",
            "yes" if only_changed else "no",
            f"{len(scale.changed)} changed",
            only_changed,
            unjudged,
        ),
        Target(
            at + "peak memory, N / (N/10)",
            f"{mem_ratio:.2f}",
            f"<= {MEMORY_N_OVER_TENTH:g}",
            mem_ratio <= MEMORY_N_OVER_TENTH,
            unjudged,
        ),
        _rate_target(
            at,
            RateJudgement(scale.ceiling, scale.most_in_a_second, scale.most_in_a_minute),
            quick,
        ),
    ]


def _unjudged(quick: bool, conditions_met: bool, otherwise: str) -> str | None:
    if quick:
        return "smoke run: not judged"
    return None if conditions_met else otherwise


def _rate_target(at: str, rate: RateJudgement, quick: bool) -> Target:
    """Judged in every full run, whatever its sizes: the ceiling holds for every request."""
    return Target(
        at + "most requests in any 1 s / 60 s",
        f"{rate.most_in_a_second} / {rate.most_in_a_minute}",
        f"<= {rate.per_second:g} / {60 * rate.ceiling:g}",
        rate.ok,
        _unjudged(quick, True, ""),
    )


def _scale_table(scale: Scale) -> list[str]:
    n = scale.participants
    small = max(1, n // 10)
    limiter = RateLimiter(scale.ceiling)
    last = scale.rounds[-1]
    floor_requests = last.floor.traffic.requests
    check_requests = last.check.traffic.requests
    inc_records = scale.med(lambda r: len(r.incremental.traffic.exported_records))
    full_records = scale.med(lambda r: len(r.full.traffic.exported_records))
    cold_ratio = scale.med(lambda r: r.cold_incremental.seconds / r.full.seconds)
    mem = scale.med(lambda r: r.check.peak_rss_kib / 1024)
    mem_small = scale.med(lambda r: r.small_check.peak_rss_kib / 1024)

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
    ]


def _mib(run: Run) -> str:
    return f"{run.peak_rss_kib / 1024:.0f} MiB"


def _latency_table(lat: LatencyRun) -> list[str]:
    floor, check, sync = lat.floor, lat.check, lat.first_sync
    return [
        "",
        f"On a slow server: {lat.latency_ms} ms added to every request, N = "
        f"{lat.participants:,} participants ({floor.records:,} records), a fresh project "
        f"(no queries yet), one round; sandbox up in {lat.sandbox_start_s:.1f} s",
        _row("measure", "seconds", "requests"),
        _row(
            "sequential bare PyCap export",
            f"{floor.seconds:.2f} s",
            f"{floor.traffic.requests} one after another, under the same limiter",
        ),
        _row(
            "check, end to end (a subprocess)",
            f"{check.seconds:.2f} s",
            f"{check.traffic.requests} ({check.traffic.record_exports} record exports); "
            f"peak {_mib(check)}",
        ),
        _row("  launch to first request (start-up)", f"{check.startup:.2f} s"),
        _row("  first to last request", f"{check.requesting:.2f} s"),
        _row("  last request to exit", f"{check.after_requests:.2f} s"),
        _row(
            "first full sync (every query new; a subprocess)",
            f"{sync.seconds:.2f} s",
            f"{sync.traffic.requests} ({sync.traffic.record_exports} record exports, "
            f"{sync.traffic.imports} imports of {sync.traffic.imported_rows:,} rows); "
            f"peak {_mib(sync)}",
        ),
        _row("  first to last request", f"{sync.requesting:.2f} s"),
        _row(
            "most requests arriving within any 1 s / 60 s",
            f"{lat.rate.most_in_a_second} / {lat.rate.most_in_a_minute}",
            "export, check and sync together",
        ),
    ]


def _latency_targets(lat: LatencyRun, *, quick: bool) -> list[Target]:
    at = f"{lat.latency_ms} ms latency, N = {lat.participants:,}: "
    check_ratio = lat.check.seconds / lat.floor.seconds
    sync_ratio = lat.first_sync.seconds / lat.check.seconds
    unjudged = _unjudged(
        quick,
        lat.participants == LATENCY_N
        and lat.latency_ms == LATENCY_MS
        and lat.ceiling == LATENCY_CEILING,
        f"judged at {LATENCY_MS} ms, N = {LATENCY_N:,}, {LATENCY_CEILING:g}/s only",
    )
    return [
        Target(
            at + "check / sequential bare export",
            f"{check_ratio:.2f}",
            f"<= {CHECK_OVER_SEQUENTIAL}",
            check_ratio <= CHECK_OVER_SEQUENTIAL,
            unjudged,
        ),
        Target(
            at + "first full sync / check",
            f"{sync_ratio:.2f}",
            f"<= {FIRST_SYNC_OVER_CHECK}",
            sync_ratio <= FIRST_SYNC_OVER_CHECK,
            unjudged,
        ),
        _rate_target(at, lat.rate, quick),
    ]


def _memory_table(mem: MemoryRun) -> list[str]:
    small = mem.participants // 10
    return [
        "",
        f"Peak memory: one check at N = {mem.participants:,} and one at N/10 = {small:,}, "
        f"each against a fresh sandbox, no added latency; sandbox (N) up in "
        f"{mem.sandbox_start_s:.1f} s",
        _row("measure", "peak", "time, requests"),
        _row(
            f"check at N = {mem.participants:,}",
            _mib(mem.check),
            f"{mem.check.seconds:.1f} s, {mem.check.traffic.requests} requests",
        ),
        _row(
            f"check at N/10 = {small:,}",
            _mib(mem.small_check),
            f"{mem.small_check.seconds:.1f} s, {mem.small_check.traffic.requests} requests",
        ),
        _row(
            "most requests arriving within any 1 s / 60 s",
            f"{mem.rate.most_in_a_second} / {mem.rate.most_in_a_minute}",
        ),
    ]


def _memory_targets(mem: MemoryRun, *, quick: bool) -> list[Target]:
    at = f"memory, N = {mem.participants:,}: "
    ratio = mem.check.peak_rss_kib / mem.small_check.peak_rss_kib
    return [
        Target(
            at + "peak memory, N / (N/10)",
            f"{ratio:.2f}",
            f"<= {MEMORY_OVER_TENTH:g}",
            ratio <= MEMORY_OVER_TENTH,
            _unjudged(quick, mem.participants == MEMORY_N, f"judged at N = {MEMORY_N:,} only"),
        ),
        _rate_target(at, mem.rate, quick),
    ]
