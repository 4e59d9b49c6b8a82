"""``health``: exit 0 when the last successful sync is recent enough (Docker HEALTHCHECK)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from worker.cli.common import positive_number
from worker.config import load_settings
from worker.errors import WorkerError
from worker.health import evaluate, newer_format_set_aside, read_heartbeat
from worker.state import utc_now

# Docker reads 0 as healthy and 1 as unhealthy, and reserves 2: a configuration problem
# must not come out as the dispatcher's usual 2.
EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "health",
        help="exit 0 if the last successful sync is recent enough, 1 if not (HEALTHCHECK)",
        description=(
            "Read the heartbeat in the state folder and exit 0 when the last successful sync "
            "finished less than schedule.max_age_hours ago and the last run was not degraded "
            "(a check quarantined, or erring on more than check.max_error_share of its "
            "participants), 1 otherwise (also when there has been none yet, or the "
            "configuration cannot be read, or a state file written by a newer worker was "
            "set aside: named until removed). Prints one line saying why. "
            "Contacts nothing: it is cheap enough for Docker's HEALTHCHECK or a Kubernetes "
            "exec probe. Give a new container a start period covering its first full sync."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML config file (default: config.toml in the working directory, if present)",
    )
    parser.add_argument(
        "--max-age-hours",
        type=positive_number("hours"),
        metavar="H",
        help="override schedule.max_age_hours: the oldest acceptable last successful sync",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except WorkerError as exc:
        print(f"unhealthy: {exc}")
        return EXIT_UNHEALTHY
    hours = (
        args.max_age_hours if args.max_age_hours is not None else settings.schedule.max_age_hours
    )
    # The heartbeat is read first: reading it may set a newer worker's heartbeat aside.
    heartbeat = read_heartbeat(settings.state_dir)
    health = evaluate(
        heartbeat,
        max_age=timedelta(hours=hours),
        now=utc_now(),
        set_aside=newer_format_set_aside(settings.state_dir),
    )
    print(health)
    return EXIT_HEALTHY if health.healthy else EXIT_UNHEALTHY
