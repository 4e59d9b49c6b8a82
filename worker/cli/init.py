"""``init DIR``: read the live project and write a working study folder for it."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from worker.cli.common import add_connection_options, open_session
from worker.core.scaffold import study_folder
from worker.errors import ConfigError

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a study folder for the project: config, mapping, rules, query instrument",
        description=(
            "Read the project's structure from REDCap and write a working study folder: "
            "config.toml (no URL or token: those stay in the environment), mapping.toml "
            "(one part per visit, one per repeating form, covering every arm and event), "
            "rules/ with a commented example parameter and logic rule, and the query "
            "instrument sync writes to (query_instrument.zip to upload in the Online "
            "Designer, query_instrument.csv as Data Dictionary rows). `doctor` and `check` "
            "then run with --config DIR/config.toml. Never overwrites: DIR must not exist "
            "(or be empty). Exit codes: 0 written, 2 usage or configuration error (DIR "
            "exists), 3 REDCap unreachable or refused."
        ),
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the study folder to create")
    add_connection_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target: Path = args.dir
    _refuse_existing(target)  # before asking REDCap anything
    with open_session(args) as session:
        schema = session.client.schema()
        folder = study_folder(schema, written_on=session.as_of, folder=str(target))
    _refuse_existing(target)  # it may have appeared meanwhile
    _write_all_or_nothing(target, folder.files)
    print(
        f"wrote {target}: config.toml, mapping.toml ({folder.parts} parts), rules/, "
        "query_instrument.zip and query_instrument.csv"
    )
    for step in folder.steps:
        print(f"next: {step}")
    return EXIT_OK


def _refuse_existing(target: Path) -> None:
    if target.is_dir() and not any(target.iterdir()):
        return
    if target.exists() or target.is_symlink():
        raise ConfigError(f"{target} already exists: init never overwrites; name a new folder")


def _write_all_or_nothing(target: Path, files: dict[str, str | bytes]) -> None:
    """Write the files into a temporary sibling folder, then rename it into place: an
    interrupted init leaves no half-written study folder."""
    staging = target.absolute().parent / f".{target.name}.init-{os.getpid()}"
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {target}: {exc.strerror}") from None
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if target.is_dir():
            target.rmdir()  # empty (checked): replaced by the complete folder
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
