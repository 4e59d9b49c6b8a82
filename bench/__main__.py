"""``python -m bench``: run the benchmark and print its table (see ``bench/__init__.py``)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

from bench.measure import CONFIG, Bench
from bench.report import Round, Scale, machine, render
from bench.sandbox import SandboxProcess, closest, max_in_window

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
            "memory and the request rate. Prints medians over the rounds and the target "
            "ratios. Uses config.example.toml's batch size and request-rate ceiling."
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
        "--quick",
        action="store_true",
        help="the CI smoke run: 100 participants, one round, the highest ceiling the worker "
        "accepts (50/s) unless --ceiling is given; nothing is judged",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.participants, args.rounds = [100], 1
        if "--ceiling" not in (argv if argv is not None else sys.argv[1:]):
            args.ceiling = 50.0
    if args.rounds < 1 or any(n < 10 for n in args.participants):
        parser.error("need at least one round and at least 10 participants")
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
            state_dir=workdir / f"state-{n}",
            batch_size=args.batch_size,
            ceiling=args.ceiling,
        )
        small_bench = Bench(
            small_sandbox,
            as_of=AS_OF,
            state_dir=workdir / f"state-{small}",
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
        scale.most_in_a_second = max(max_in_window(times) for times in arrivals)
        scale.most_in_a_minute = max(max_in_window(times, 60.0) for times in arrivals)
        scale.closest_s = min(gap for times in arrivals if (gap := closest(times)) is not None)
        scale.requests_seen = sum(len(times) for times in arrivals)
        scale.sandbox_start_s = sandbox.startup_s
    return scale


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    scales = []
    with tempfile.TemporaryDirectory(prefix="worker-bench-") as tmp:
        for n in args.participants:
            scales.append(measure_scale(n, args, Path(tmp)))
    print(render(scales, machine=machine(), quick=args.quick, elapsed=time.time() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
