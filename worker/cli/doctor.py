"""``doctor``: is the worker set up right? Connectivity, REDCap version, mapping and rules
drift, and every study check run once on the project's data."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path

from worker.cli.common import add_connection_options, open_session
from worker.config import Settings
from worker.core.coverage import mapping_coverage
from worker.core.export_rights import export_rights_error, hidden_fields
from worker.core.mapping import MappingSpec, load_mapping, mapping_drift
from worker.core.rules import load_ruleset
from worker.core.rules.loader import LOGIC_FILE
from worker.core.rules.logic_rules import one_arm_names
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, RedcapError, WorkerError
from worker.pipeline import (
    INIT_HINT,
    check_project,
    judged_mapping,
    load_study,
    query_form_steps,
)
from worker.redcap_client import RedcapClient
from worker.redcap_client.drw import DrwApi, module_prefixes


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check connectivity, REDCap version, and mapping/rules drift",
        description=(
            "Check that REDCap answers, report its version and the project, and list every "
            "field, form or event that the mapping or rules name but the live project lacks. "
            "In a project with several arms, also every event and arm the mapping does not "
            "cover and every logic rule that names one arm's event (use visit names, the "
            "event names without '_arm_N'). Every check quarantined because the project "
            "lacks a field, form or event it reads is listed by name. "
            "Also that an export returns every query field (the token's data export rights can "
            "leave fields out silently; sync needs 'Full Data Set' on the query form). "
            "Then it runs every study check (and the rules' visit schedule and progress "
            "counters) once on the project's records, read-only, and lists each that raised an "
            "error, with the study file and line and the name it missed. "
            'With queries.target = "drw", also that the Data Quality API module is enabled on '
            "the project, that its export works and that the project has the Data Resolution "
            "Workflow on. Exit codes: 0 all good, 2 configuration, drift or check errors (or "
            "the DRW not usable), 3 REDCap unreachable or query fields not exported."
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
                        ruleset = load_ruleset(rules_dir, schema=schema, mapping=judged())
                    except WorkerError as exc:
                        problems.append(str(exc))
                        return problems
                    # Each quarantined check, by name: check and sync skip it (its queries
                    # are left as they are) until the project or the rules are fixed.
                    problems.extend(
                        f"check {q.check.id} quarantined (not run, its queries left as they "
                        f"are): {q.reason}"
                        for q in ruleset.quarantined
                    )
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
        if status == 0 and settings.study.rules is not None:
            # Only a study that loads can run; it runs on the data the checks will see.
            ran = ""
            try:
                problems, ran = check_run_problems(settings, schema, client, session.as_of)
            except RedcapError as exc:
                report(False, "checks", str(exc))
                return exc.exit_code
            except (ConfigError, WorkerError) as exc:
                problems = [str(exc)]
            for problem in problems:
                report(False, "checks", problem)
            if problems:
                status = 2
            else:
                report(True, "checks", ran)
        if settings.queries.target == "drw":
            status = max(status, _drw_checks(client, schema, settings.queries.drw_prefix, report))
        elif settings.study.mapping is not None:
            mapping_path = Path(settings.study.mapping)
            missing = _query_instrument_note(mapping_path, schema)
            if missing:
                note("queries", missing)
            else:
                try:
                    seen = _query_fields_seen(client, mapping_path)
                except RedcapError as exc:
                    report(False, "export rights", str(exc))
                    status = max(status, exc.exit_code)
                else:
                    if seen is not None:
                        report(True, "export rights", seen)
    return status


def check_run_problems(
    settings: Settings, schema: ProjectSchema, client: RedcapClient, as_of: date
) -> tuple[list[str], str]:
    """Every study check, and the rules' schedule and progress, run once over every record
    (read-only): one line per check and cause that raised (the study's file and line, the
    name it missed, how many records), and a line saying what ran."""
    study = load_study(settings.study, schema)
    assert study.ruleset is not None
    # The schedule and progress run as every command runs them; no visit row is kept.
    outcome = check_project(client, study, as_of=as_of, visits=lambda row: False)
    assert outcome.tally is not None
    records = outcome.records_checked
    failed = [
        (f"check {check}", cause, ids) for (check, cause), ids in outcome.check_failures.items()
    ]
    failed += [
        (f"the rules' {part}()", cause, ids)
        for (part, cause), ids in outcome.tally.failures.items()
    ]
    problems = [
        f"{what} raised on {len(ids)} of {records} record(s) (first: record {ids[0]}): {cause}"
        for what, cause, ids in failed
    ]
    checks = len(study.ruleset.checks)
    return problems, f"{checks} checks ran on {records} record(s) as of {as_of} without an error"


def _query_fields_seen(client: RedcapClient, mapping_path: Path) -> str | None:
    """The check sync makes before its first write: does an export return every query
    field? Read from one record's export (REDCap's export rights act on exports only; the
    data dictionary lists every field whatever they are)."""
    try:
        queries = load_mapping(mapping_path).queries
    except WorkerError:
        return None
    assert queries is not None  # _query_instrument_note said so
    ids = client.record_ids()
    if not ids:
        return "not checked: the project has no records yet (sync checks before writing)"
    # Every form: a record without queries yet has no row the query form alone would fill.
    rows = client.export_records(ids[:1])
    missing = hidden_fields(queries.fields.read_back, rows[0].keys() if rows else ())
    if missing:
        raise export_rights_error(queries.form, missing)
    return f"every query field of '{queries.form}' is exported"


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


def _drw_checks(
    client: RedcapClient,
    schema: ProjectSchema,
    prefix: str,
    report: Callable[[bool, str, str], None],
) -> int:
    """The DRW target: the module is enabled on the project, its export answers, and the
    project has the DRW on (an empty import, which writes nothing, is refused otherwise)."""
    try:
        api = DrwApi(client, schema, prefix)
        if prefix not in module_prefixes(client.project_info()):
            report(False, "DRW module", api.not_enabled_message())
            return 2
        report(True, "DRW module", f"{prefix} is enabled on project {api.project_id}")
        statuses = api.export()
        report(True, "DRW export", f"{len(statuses)} DRW statuses")
        api.import_statuses([])
    except RedcapError as exc:
        report(False, "DRW", str(exc))
        return 2
    report(True, "DRW import", "the project has the Data Resolution Workflow enabled")
    return 0
