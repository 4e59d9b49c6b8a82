"""``python -m bench.warm``: syncs as the container's scheduler runs them, on request.

The container (``worker run``) is one long-lived process whose scheduler runs a sync job
every hour: its incremental syncs start warm, with the worker imported and configured.
This process is that, minus the clock: it loads the settings once, then for each line
``full`` or ``incremental`` on stdin runs the scheduler's own job runner
(``worker.scheduler.SyncRunner``: a fresh REDCap client per run, the state folder's cursor
and saved project structure, the summaries) and answers with one JSON line on stdout.
Its logs go to stderr, at the level ``run`` uses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from worker.config import load_settings
from worker.jobs import JobOutcome, run_sync_job
from worker.logs import configure_logging
from worker.scheduler import SyncRunner


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warm", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    configure_logging(level="INFO", stream=sys.stderr, json=True)
    outcomes: list[JobOutcome] = []

    def job(*job_args: object, **kwargs: object) -> JobOutcome:
        outcome = run_sync_job(*job_args, **kwargs)  # type: ignore[arg-type]
        outcomes.append(outcome)
        return outcome

    runner = SyncRunner(
        load_settings(args.config), should_stop=lambda: False, as_of=args.as_of, job=job
    )
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        kind = line.strip()
        if kind not in ("full", "incremental"):
            print(json.dumps({"error": f"unknown request {kind!r}"}), flush=True)
            continue
        outcomes.clear()
        started = time.perf_counter()
        runner(kind)  # logs and swallows a failure, as the scheduler's runs do
        seconds = time.perf_counter() - started
        done = outcomes[0] if outcomes else None
        answer = {
            "seconds": seconds,
            "ok": bool(done and done.ok),
            "mode": done.mode if done else None,
            "records": done.sync.records_checked if done else 0,
        }
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
