"""``python -m bench``: run the benchmark and print its table (see ``bench/__init__.py``)."""

from __future__ import annotations

import argparse
import compileall
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

from bench.measure import CONFIG, Bench
from bench.report import LatencyRun, MemoryRun, Round, Scale, judge_rate, machine, render
from bench.sandbox import REPO, SandboxProcess, closest, max_in_window

AS_OF = date(2026, 11, 26)
PAUSE_S = 1.0  # between measurements: each one's requests stand alone in the rate windows


def _config_redcap() -> dict[str, object]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8")).get("redcap", {})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    redcap = _config_redcap()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark the worker against the REDCap sandbox on loopback: a bare batched "
            "PyCap export (the floor), check end to end, incremental and full sync, peak "
            "memory and the request rate; then, on a slow server (--latency-ms), check and "
            "the first full sync against a sequential bare export; then peak memory at "
            "--memory-participants. Prints medians over the rounds and every target with "
            "its figure. Uses config.example.toml's batch size and request-rate ceiling."
        ),
    )
    parser.add_argument(
        "--participants",
        type=int,
        nargs="+",
        metavar="N",
        default=[500, 5000],
        help="project sizes to measure, each in its own sandbox (default: 500 5000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, metavar="R", help="rounds per size (default 3)"
    )
    parser.add_argument(
        "--ceiling",
        type=float,
        default=float(redcap.get("max_requests_per_second", 5.0)),  # type: ignore[arg-type]
        metavar="RATE",
        help="requests per second for the worker and the floor alike "
        "(default: config.example.toml's max_requests_per_second, %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=int(redcap.get("batch_size", 200)),  # type: ignore[call-overload]
        metavar="N",
        help="records per export request, worker and floor alike "
        "(default: config.example.toml's batch_size, %(default)s)",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=500,
        metavar="MS",
        help="the slow-server scenario: milliseconds its sandbox adds to every request "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--latency-participants",
        type=int,
        default=5000,
        metavar="N",
        help="project size of the slow-server scenario (default %(default)s)",
    )
    parser.add_argument(
        "--memory-participants",
        type=int,
        default=50000,
        metavar="N",
        help="the memory scenario: one check at N and one at N/10 (default %(default)s)",
    )
    parser.add_argument(
        "--skip-table",
        action="store_true",
        help="skip the rounds at each --participants size",
    )
    parser.add_argument("--skip-latency", action="store_true", help="skip the slow-server scenario")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory scenario")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the CI smoke run: 100 participants, one round, the highest ceiling the worker "
        "accepts (50/s), the slow server at 100 participants and 100 ms, memory at 1,000 "
        "(each unless given); nothing is judged",
    )
    args = parser.parse_args(argv)
    given = set(argv if argv is not None else sys.argv[1:])
    if args.quick:
        args.participants, args.rounds = [100], 1
        for option, small in (
            ("--ceiling", 50.0),
            ("--latency-ms", 100),
            ("--latency-participants", 100),
            ("--memory-participants", 1000),
        ):
            if option not in given:
                setattr(args, option[2:].replace("-", "_"), small)
    sizes = [*args.participants, args.latency_participants, args.memory_participants // 10]
    if args.rounds < 1 or any(n < 10 for n in sizes):
        parser.error(
            "need at least one round and at least 10 participants (100 for --memory-participants)"
        )
    if args.latency_ms < 0:
        parser.error("--latency-ms must be 0 or more")
    return args


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure_scale(n: int, args: argparse.Namespace, workdir: Path) -> Scale:
    scale = Scale(participants=n, ceiling=args.ceiling, batch_size=args.batch_size)
    small = max(1, n // 10)
    say(f"N={n}: starting sandboxes with {n} and {small} participants ...")
    with (
        SandboxProcess(n, AS_OF, workdir) as sandbox,
        SandboxProcess(small, AS_OF, workdir) as small_sandbox,
    ):
        bench = Bench(
            sandbox,
            as_of=AS_OF,
            state_dir=workdir / f"state-{sandbox.name}",
            batch_size=args.batch_size,
            ceiling=args.ceiling,
        )
        small_bench = Bench(
            small_sandbox,
            as_of=AS_OF,
            state_dir=workdir / f"state-{small_sandbox.name}",
            batch_size=args.batch_size,
            ceiling=args.ceiling,
        )
        # Syncs run as the container runs them: jobs of one long-lived process (bench.warm).
        with bench.warm(workdir) as warm:
            # Set-up, not timed: the first full sync writes a query per finding; the second
            # writes nothing and moves the incremental cursor past those writes. From here on
            # the project is in its steady state, as a nightly sync finds it.
            say(f"N={n}: set-up: first full sync (writes every query) ...")
            first = warm.sync(incremental=False)
            scale.setup_s = first.seconds
            time.sleep(PAUSE_S)
            second = warm.sync(incremental=False)
            scale.setup_rate = max(max_in_window(run.traffic.arrivals) for run in (first, second))
            changed = bench.changed_records()
            for number in range(1, args.rounds + 1):
                say(f"N={n}: round {number}/{args.rounds} ...")
                time.sleep(PAUSE_S)
                floor = bench.bare_export()
                time.sleep(PAUSE_S)
                check = bench.check(workdir)
                time.sleep(PAUSE_S)
                small_check = small_bench.check(workdir)
                time.sleep(PAUSE_S)
                bench.change(changed)
                time.sleep(PAUSE_S)
                incremental = warm.sync(incremental=True)
                time.sleep(PAUSE_S)
                bench.change(changed)
                time.sleep(PAUSE_S)
                cold_incremental = bench.sync(workdir, incremental=True)
                time.sleep(PAUSE_S)
                bench.change(changed)
                time.sleep(PAUSE_S)
                full = warm.sync(incremental=False)
                scale.rounds.append(
                    Round(floor, check, small_check, incremental, full, cold_incremental)
                )
        scale.changed = frozenset(changed)
        scale.records = floor.records
        scale.rows = floor.rows
        arrivals = [
            [r.received for r in sandbox.requests()],
            [r.received for r in small_sandbox.requests()],
        ]
        rate = judge_rate(arrivals, args.ceiling)
        scale.most_in_a_second = rate.most_in_a_second
        scale.most_in_a_minute = rate.most_in_a_minute
        scale.closest_s = min(gap for times in arrivals if (gap := closest(times)) is not None)
        scale.requests_seen = sum(len(times) for times in arrivals)
        scale.sandbox_start_s = sandbox.startup_s
    return scale


def _bench(sandbox: SandboxProcess, args: argparse.Namespace, workdir: Path, use: str) -> Bench:
    """The measurements against ``sandbox``, with a state folder of their own (``use``)."""
    return Bench(
        sandbox,
        as_of=AS_OF,
        state_dir=workdir / f"state-{sandbox.name}-{use}",
        batch_size=args.batch_size,
        ceiling=args.ceiling,
    )


def _arrivals(sandbox: SandboxProcess) -> list[float]:
    return [r.received for r in sandbox.requests()]


def measure_latency(args: argparse.Namespace, workdir: Path) -> LatencyRun:
    """A fresh project on a slow server: the sequential bare export, check, and the first
    full sync (every finding a new query), in that order, once each."""
    n, ms = args.latency_participants, args.latency_ms
    say(f"slow server ({ms} ms a request), N={n}: starting a sandbox ...")
    with SandboxProcess(n, AS_OF, workdir, latency_ms=ms) as sandbox:
        say(f"slow server, N={n}: sequential bare export ...")
        floor = _bench(sandbox, args, workdir, "floor").bare_export()
        time.sleep(PAUSE_S)
        say(f"slow server, N={n}: check ...")
        check = _bench(sandbox, args, workdir, "check").check(workdir)
        time.sleep(PAUSE_S)
        say(f"slow server, N={n}: first full sync (writes every query) ...")
        # A state folder of its own: the first sync starts from nothing, as a first run does.
        first_sync = _bench(sandbox, args, workdir, "sync").sync(workdir, incremental=False)
        if not first_sync.traffic.imported_rows:
            raise RuntimeError("the first full sync wrote nothing: no findings to measure")
        return LatencyRun(
            participants=n,
            latency_ms=ms,
            ceiling=args.ceiling,
            floor=floor,
            check=check,
            first_sync=first_sync,
            rate=judge_rate([_arrivals(sandbox)], args.ceiling),
            sandbox_start_s=sandbox.startup_s,
        )


def measure_memory(args: argparse.Namespace, workdir: Path) -> MemoryRun:
    """One check at N and one at N/10, each against a fresh sandbox of its own, started one
    after the other (only one project held in memory at a time)."""
    n = args.memory_participants
    small = n // 10
    say(f"memory, N={n}: starting a sandbox (a minute or more at 50,000) ...")
    with SandboxProcess(n, AS_OF, workdir) as sandbox:
        say(f"memory, N={n}: check ...")
        check = _bench(sandbox, args, workdir, "check").check(workdir)
        arrivals = [_arrivals(sandbox)]
        startup = sandbox.startup_s
    say(f"memory, N/10={small}: starting a sandbox ...")
    with SandboxProcess(small, AS_OF, workdir) as small_sandbox:
        say(f"memory, N/10={small}: check ...")
        small_check = _bench(small_sandbox, args, workdir, "check").check(workdir)
        arrivals.append(_arrivals(small_sandbox))
    return MemoryRun(
        participants=n,
        check=check,
        small_check=small_check,
        rate=judge_rate(arrivals, args.ceiling),
        sandbox_start_s=startup,
    )


def compile_sources(root: Path = REPO) -> None:
    """Byte-compile the worker and the studies' rules once, as installing the wheel does (pip
    compiles what it installs). Without it, on a machine that sets PYTHONDONTWRITEBYTECODE
    (as this project's image does), every measured run of a source checkout would compile
    some 150 modules anew: a start-up cost no installed worker pays."""
    for folder in ("worker", "rules"):
        compileall.compile_dir(root / folder, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compile_sources()
    started = time.time()
    scales = []
    latency = memory = None
    with tempfile.TemporaryDirectory(prefix="worker-bench-") as tmp:
        if not args.skip_table:
            for n in args.participants:
                scales.append(measure_scale(n, args, Path(tmp)))
        if not args.skip_latency:
            latency = measure_latency(args, Path(tmp))
        if not args.skip_memory:
            memory = measure_memory(args, Path(tmp))
    print(
        render(
            scales,
            machine=machine(),
            quick=args.quick,
            elapsed=time.time() - started,
            latency=latency,
            memory=memory,
            ceiling=args.ceiling,
            batch_size=args.batch_size,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
