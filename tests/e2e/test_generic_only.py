"""From a token to findings: with only REDCAP_API_URL and REDCAP_API_TOKEN, or a config whose
[study] names nothing, the worker runs the generic checks on the whole project and says that
no study rules are configured. `check` and `report` never need the query instrument; `sync`
does, and says in one line what to add."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.nk_trial import finding_key, seeded
from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e

NK_MAPPING = (REPO / "mappings" / "nk_trial.toml").read_text(encoding="utf-8")
NK_RULES = REPO / "rules" / "nk_trial"
NO_RULES = "no study rules configured: generic checks only"


def worker(sandbox, *args: str, cwd: Path):
    return run_worker(*args, env=worker_env(sandbox.url, sandbox.token), cwd=cwd)


def check_json(sandbox, cwd: Path, *extra: str) -> tuple[int, dict]:
    run = worker(
        sandbox, "check", "--as-of", AS_OF.isoformat(), "--format", "json", *extra, cwd=cwd
    )
    assert "Traceback" not in run.stderr
    return run.returncode, json.loads(run.stdout)


def config(folder: Path, study: str) -> Path:
    path = folder / "config.toml"
    path.write_text(f"[study]\n{study}", encoding="utf-8")
    return path


def mapping_without_its_query_form(folder: Path) -> Path:
    """The dNK mapping, naming a query form the project does not have."""
    path = folder / "mapping.toml"
    path.write_text(NK_MAPPING.replace('form = "data_query"', 'form = "dq_log"'), encoding="utf-8")
    return path


def test_with_only_url_and_token_check_runs_every_generic_check(demo_sandbox, tmp_path) -> None:
    code, document = check_json(demo_sandbox, tmp_path)  # an empty working directory
    assert code == 1
    assert {finding_key(f) for f in document["findings"]} == seeded("DQ-")
    assert document["summary"]["study_checks"] == 0


def test_the_table_and_csv_say_no_study_rules_are_configured(demo_sandbox, tmp_path) -> None:
    table = worker(demo_sandbox, "check", "--as-of", AS_OF.isoformat(), cwd=tmp_path)
    assert NO_RULES in " ".join(table.stdout.split())
    csv = worker(
        demo_sandbox, "check", "--as-of", AS_OF.isoformat(), "--format", "csv", cwd=tmp_path
    )
    assert csv.stdout.splitlines()[0].startswith("rule,kind,severity")
    assert csv.stderr.strip().splitlines()[-1] == f"note: {NO_RULES}"


def test_a_config_whose_study_names_nothing_runs_the_generic_checks(demo_sandbox, tmp_path) -> None:
    path = config(tmp_path, 'timezone = "Asia/Shanghai"\n')
    code, document = check_json(demo_sandbox, tmp_path, "--config", str(path))
    assert code == 1
    assert {finding_key(f) for f in document["findings"]} == seeded("DQ-")
    assert document["summary"]["study_checks"] == 0


def test_the_study_summary_does_not_claim_missing_rules(demo_sandbox, tmp_path) -> None:
    _, document = check_json(demo_sandbox, tmp_path, "--config", str(REPO / "config.example.toml"))
    assert document["summary"]["study_checks"] > 0


def test_rules_without_a_mapping_are_one_line_exit_2(demo_sandbox, tmp_path) -> None:
    path = config(tmp_path, f'rules = "{NK_RULES}"\n')
    run = worker(demo_sandbox, "check", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "error: study.rules needs study.mapping: the checks read mapped parts"
    )


def test_check_runs_with_a_mapping_whose_query_form_the_project_lacks(
    demo_sandbox, tmp_path
) -> None:
    mapping = mapping_without_its_query_form(tmp_path)
    path = config(tmp_path, f'mapping = "{mapping}"\nrules = "{NK_RULES}"\n')
    code, document = check_json(demo_sandbox, tmp_path, "--config", str(path))
    assert code == 1
    assert {finding_key(f) for f in document["findings"]} == seeded()


def test_doctor_with_only_url_and_token_passes_and_says_what_init_does(
    demo_sandbox, tmp_path
) -> None:
    run = worker(demo_sandbox, "doctor", cwd=tmp_path)
    assert run.returncode == 0, run.stdout
    assert "info mapping: none configured: check runs the generic checks alone;" in run.stdout
    assert "python -m worker init DIR" in run.stdout


def test_doctor_notes_a_missing_query_form_without_failing(demo_sandbox, tmp_path) -> None:
    mapping = mapping_without_its_query_form(tmp_path)
    path = config(tmp_path, f'mapping = "{mapping}"\nrules = "{NK_RULES}"\n')
    run = worker(demo_sandbox, "doctor", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 0, run.stdout
    assert "ok   mapping: matches the project" in run.stdout
    [note] = [line for line in run.stdout.splitlines() if line.startswith("info queries:")]
    assert "the project has no form 'dq_log' yet" in note
    assert "designate 'dq_log' for event queries_arm_1" in note


def test_report_with_only_url_and_token_is_written(demo_sandbox, tmp_path) -> None:
    out = tmp_path / "report.html"
    run = worker(
        demo_sandbox, "report", "--as-of", AS_OF.isoformat(), "--out", str(out), cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert "<html" in out.read_text(encoding="utf-8")


def test_sync_without_a_mapping_says_what_to_add_and_writes_nothing(demo_sandbox, tmp_path) -> None:
    run = worker(demo_sandbox, "sync", "--as-of", AS_OF.isoformat(), cwd=tmp_path)
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: sync needs a query instrument to write findings into")
    assert "`python -m worker init DIR`" in line
    assert not demo_sandbox.request_log.imports()
    # Refused before any record's data was read (the record IDs, listed alongside the
    # structure for a full sync, at most).
    assert all(e.records_requested is None for e in demo_sandbox.request_log.exports())


def test_sync_with_the_query_form_missing_names_it_and_writes_nothing(
    demo_sandbox, tmp_path
) -> None:
    mapping = mapping_without_its_query_form(tmp_path)
    path = config(tmp_path, f'mapping = "{mapping}"\nrules = "{NK_RULES}"\n')
    run = worker(
        demo_sandbox, "sync", "--as-of", AS_OF.isoformat(), "--config", str(path), cwd=tmp_path
    )
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(
        "error: sync needs the query instrument 'dq_log', which the project does not have: "
    )
    assert "add a form 'dq_log' with the fields the mapping's [queries.fields] names" in line
    assert "designate 'dq_log' for event queries_arm_1" in line
    assert "make it a repeating instrument there" in line
    assert not demo_sandbox.request_log.imports()
