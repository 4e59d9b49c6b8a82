"""``doctor``: is the worker set up right? Connectivity, REDCap version, mapping and rules drift."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from worker.cli.common import add_connection_options, open_session
from worker.core.mapping import load_mapping, mapping_drift
from worker.core.rules import load_ruleset
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, RedcapError, WorkerError
from worker.redcap_client import RedcapClient
from worker.redcap_client.drw import DrwApi, module_prefixes


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check connectivity, REDCap version, and mapping/rules drift",
        description=(
            "Check that REDCap answers, report its version and the project, and list every "
            "field, form or event that the mapping or rules name but the live project lacks. "
            'With queries.target = "drw", also that the Data Quality API module is enabled on '
            "the project, that its export works and that the project has the Data Resolution "
            "Workflow on. Exit codes: 0 all good, 2 configuration or drift problems (or the DRW "
            "not usable), 3 REDCap unreachable."
        ),
    )
    add_connection_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = 0

    def report(ok: bool, label: str, detail: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}")

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
            report(False, "mapping", "study.mapping is not set")
            status = 2
        else:
            mapping_path = Path(settings.study.mapping)
            steps.append(("mapping", lambda: mapping_drift(load_mapping(mapping_path), schema)))
            if settings.study.rules is not None:
                rules_dir = Path(settings.study.rules)

                def rules_problems() -> list[str]:
                    load_ruleset(rules_dir, schema=schema, mapping=load_mapping(mapping_path))
                    return []

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
            else:
                report(True, label, "matches the project")
        if settings.queries.target == "drw":
            status = max(status, _drw_checks(client, schema, settings.queries.drw_prefix, report))
    return status


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
