"""``doctor``: is the worker set up right? Connectivity, REDCap version, mapping and rules drift."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from worker.cli.common import add_connection_options, open_session
from worker.core.coverage import mapping_coverage
from worker.core.mapping import MappingSpec, load_mapping, mapping_drift
from worker.core.rules import load_ruleset
from worker.core.rules.loader import LOGIC_FILE
from worker.core.rules.logic_rules import one_arm_names
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, RedcapError, WorkerError
from worker.pipeline import INIT_HINT, judged_mapping, query_form_steps


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check connectivity, REDCap version, and mapping/rules drift",
        description=(
            "Check that REDCap answers, report its version and the project, and list every "
            "field, form or event that the mapping or rules name but the live project lacks. "
            "In a project with several arms, also every event and arm the mapping does not "
            "cover and every logic rule that names one arm's event (use visit names, the "
            "event names without '_arm_N'). "
            "Exit codes: 0 all good, 2 configuration or drift problems, 3 REDCap unreachable."
        ),
    )
    add_connection_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = 0

    def report(ok: bool, label: str, detail: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}")

    def note(label: str, detail: str) -> None:
        print(f"info {label}: {detail}")

    with open_session(args) as session:
        settings, client = session.settings, session.client
        try:
            version = client.version()
            schema = client.schema()
        except RedcapError as exc:
            report(False, "REDCap", str(exc))
            return exc.exit_code
        report(True, "REDCap", f"version {version} at {settings.redcap.url}")
        kind = "longitudinal" if schema.is_longitudinal else "classic"
        report(
            True,
            "project",
            f"{schema.project_id} '{schema.title}' ({kind}, {len(schema.fields)} fields, "
            f"{len(schema.forms)} forms, {len(schema.events)} events)",
        )
        steps: list[tuple[str, Callable[[], list[str]]]] = []
        if settings.study.mapping is None:
            if settings.study.rules is not None:
                report(False, "rules", "study.rules needs study.mapping")
                status = 2
            else:
                note(
                    "mapping",
                    f"none configured: check runs the generic checks alone; {INIT_HINT}",
                )
        else:
            mapping_path = Path(settings.study.mapping)

            def judged() -> MappingSpec:
                return judged_mapping(load_mapping(mapping_path), schema)

            steps.append(("mapping", lambda: mapping_drift(judged(), schema)))
            if len(schema.arms) > 1:

                def arms_problems() -> list[str]:
                    coverage = mapping_coverage(judged(), schema)
                    for line in coverage.notes:
                        note("arms", line)
                    return coverage.problems

                steps.append(("arms", arms_problems))
            if settings.study.rules is not None:
                rules_dir = Path(settings.study.rules)

                def rules_problems() -> list[str]:
                    logic_file = rules_dir / LOGIC_FILE
                    problems = one_arm_names(logic_file, schema) if logic_file.is_file() else []
                    try:
                        load_ruleset(rules_dir, schema=schema, mapping=judged())
                    except WorkerError as exc:
                        problems.append(str(exc))
                    return problems

                steps.append(("rules", rules_problems))
        for label, step in steps:
            try:
                problems = step()
            except (ConfigError, WorkerError) as exc:
                problems = [str(exc)]
            if problems:
                status = 2
                for problem in problems:
                    report(False, label, problem)
            elif label == "arms":
                report(True, label, f"the mapping covers all {len(schema.arms)} arms")
            else:
                report(True, label, "matches the project")
        if settings.study.mapping is not None:
            missing = _query_instrument_note(Path(settings.study.mapping), schema)
            if missing:
                note("queries", missing)
    return status


def _query_instrument_note(mapping_path: Path, schema: ProjectSchema) -> str | None:
    """What sync would lack, said before it runs: not a failure, check and report run."""
    try:
        queries = load_mapping(mapping_path).queries
    except WorkerError:
        return None  # already reported as the mapping's problem
    if queries is None:
        return "the mapping has no [queries] section: sync cannot write queries"
    if queries.form in schema.forms:
        return None
    steps = query_form_steps(schema, queries, mapping_path)
    return (
        f"the project has no form '{queries.form}' yet: check and report run without it; "
        f"before the first sync: {steps}"
    )
