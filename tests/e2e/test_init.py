"""`python -m worker init DIR`: from a live project to a working study folder, which `doctor`
passes and `check` runs with; `sync` says what to add until the query instrument is there,
and works once it is."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.support.nk_trial import finding_key, seeded
from tests.support.projects import AS_OF, REPO, TWO_ARM_PROJECT, dictionary_rows, project_export
from tests.support.sandbox import write_classic_project
from tests.support.worker_process import run_worker, worker_env
from worker.sandbox import Sandbox

pytestmark = pytest.mark.e2e

CLASSIC_TOKEN = "C1A55IC0000000000000000000000000"
CLASSIC_ROWS = [
    {"record_id": "1", "redcap_repeat_instrument": "", "redcap_repeat_instance": "", "age": "40"},
    # A value that is not an integer: one generic finding.
    {"record_id": "2", "redcap_repeat_instrument": "", "redcap_repeat_instance": "", "age": "4x"},
]


def worker(sandbox, *args: str, cwd: Path):
    run = run_worker(*args, env=worker_env(sandbox.url, sandbox.token), cwd=cwd)
    assert "Traceback" not in run.stderr
    return run


def init(sandbox, folder: Path):
    return worker(sandbox, "init", str(folder), cwd=folder.parent)


def test_init_on_the_dnk_project_writes_a_folder_doctor_passes_and_check_runs(
    demo_sandbox, tmp_path
) -> None:
    study = tmp_path / "study"
    run = init(demo_sandbox, study)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith(f"wrote {study}: config.toml, mapping.toml (")
    assert sorted(p.relative_to(study).as_posix() for p in study.rglob("*") if p.is_file()) == [
        "config.toml",
        "mapping.toml",
        "query_instrument.csv",
        "query_instrument.zip",
        "rules/logic_rules.toml",
        "rules/params.toml",
    ]
    # The project has the worker's query instrument already: nothing to add before a sync.
    assert [line for line in run.stdout.splitlines() if line.startswith("next:")] == [
        f"next: set REDCAP_API_URL and REDCAP_API_TOKEN (the config holds neither), then "
        f"`python -m worker doctor --config {study}/config.toml` and "
        f"`python -m worker check --config {study}/config.toml`"
    ]
    for path in study.rglob("*.toml"):
        text = path.read_text(encoding="utf-8")
        assert demo_sandbox.token not in text
        assert demo_sandbox.url not in text

    config = str(study / "config.toml")
    doctor = worker(demo_sandbox, "doctor", "--config", config, cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout
    assert "ok   mapping: matches the project" in doctor.stdout
    assert "ok   rules: matches the project" in doctor.stdout

    check = worker(
        demo_sandbox,
        "check",
        "--config",
        config,
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert check.returncode == 1
    document = json.loads(check.stdout)
    assert {finding_key(f) for f in document["findings"]} == seeded("DQ-")
    assert document["summary"]["study_checks"] == 0


def test_init_refuses_an_existing_folder_before_asking_redcap(tmp_path) -> None:
    study = tmp_path / "study"
    study.mkdir()
    (study / "mapping.toml").write_text("mine", encoding="utf-8")
    # REDCap is not even reachable: the refusal comes first.
    env = worker_env("http://127.0.0.1:9/api/", "0123456789ABCDEF0123456789ABCDEF")
    run = run_worker("init", str(study), env=env, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: {study} already exists: init never overwrites; name a new folder"
    ]
    assert [p.name for p in study.iterdir()] == ["mapping.toml"]
    assert (study / "mapping.toml").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # nothing left behind


def classic_sandbox(folder: Path, *, extra_metadata=(), repeating=()) -> Sandbox:
    project = write_classic_project(folder, dags=False)
    metadata = json.loads((project / "metadata.json").read_text())
    (project / "metadata.json").write_text(json.dumps([*metadata, *extra_metadata]))
    setup = json.loads((project / "repeating_forms_events.json").read_text())
    (project / "repeating_forms_events.json").write_text(json.dumps([*setup, *repeating]))
    return Sandbox.from_folder(project_dir=project, data=CLASSIC_ROWS, token=CLASSIC_TOKEN)


def test_on_a_project_without_the_query_instrument_sync_says_what_to_add(tmp_path) -> None:
    study = tmp_path / "study"
    with classic_sandbox(tmp_path / "project") as sandbox:
        run = init(sandbox, study)
        assert run.returncode == 0, run.stderr
        [step] = [line for line in run.stdout.splitlines() if "query instrument" in line]
        assert step == (
            f"next: before the first sync, add the query instrument: upload "
            f"{study}/query_instrument.zip in the Online Designer (Upload instrument ZIP; never "
            "as the Data Dictionary, which replaces every form); make 'data_queries' a repeating "
            "instrument (Project Setup > Repeating instruments and events)"
        )
        config = str(study / "config.toml")

        doctor = worker(sandbox, "doctor", "--config", config, cwd=tmp_path)
        assert doctor.returncode == 0, doctor.stdout
        assert "ok   mapping: matches the project" in doctor.stdout
        assert any(
            line.startswith("info queries: the project has no form 'data_queries' yet")
            for line in doctor.stdout.splitlines()
        )

        check = worker(sandbox, "check", "--config", config, "--format", "json", cwd=tmp_path)
        assert check.returncode == 1
        assert [finding_key(f) for f in json.loads(check.stdout)["findings"]] == [
            ("DQ-TYPE", "2", None, None, "age")
        ]

        sync = worker(sandbox, "sync", "--config", config, cwd=tmp_path)
        assert sync.returncode == 2
        [line] = sync.stderr.strip().splitlines()
        assert line.startswith(
            "error: sync needs the query instrument 'data_queries', which the project does not "
            f"have: upload {study}/query_instrument.zip in the Online Designer"
        )
        assert not sandbox.request_log.imports()


def test_once_the_instrument_is_added_as_init_wrote_it_sync_writes_queries(tmp_path) -> None:
    with classic_sandbox(tmp_path / "bare") as sandbox:
        assert init(sandbox, tmp_path / "study").returncode == 0
    shutil.rmtree(tmp_path / "study" / "rules")  # a study folder works without rules too
    (tmp_path / "study" / "config.toml").write_text(
        (tmp_path / "study" / "config.toml").read_text().replace('rules = "rules"\n', "")
    )
    # The project after the steps init printed: the instrument's rows added, repeating.
    instrument = dictionary_rows((tmp_path / "study" / "query_instrument.csv").read_text())
    with classic_sandbox(
        tmp_path / "with_queries",
        extra_metadata=instrument,
        repeating=[{"form_name": "data_queries", "custom_form_label": ""}],
    ) as sandbox:
        config = str(tmp_path / "study" / "config.toml")
        doctor = worker(sandbox, "doctor", "--config", config, cwd=tmp_path)
        assert doctor.returncode == 0, doctor.stdout
        assert "info queries" not in doctor.stdout
        sync = worker(sandbox, "sync", "--config", config, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        [query] = [r for r in sandbox.rows() if r["redcap_repeat_instrument"] == "data_queries"]
        assert (query["record_id"], query["dq_rule"], query["dq_field"]) == ("2", "DQ-TYPE", "age")
        assert query["dq_status"] == "1"  # open


def test_init_on_a_two_arm_project_maps_visits_doctor_passes_and_check_runs(tmp_path) -> None:
    rows = project_export(TWO_ARM_PROJECT, "rows")
    with Sandbox.from_folder(project_dir=TWO_ARM_PROJECT, data=rows, token=CLASSIC_TOKEN) as sb:
        study = tmp_path / "study"
        assert init(sb, study).returncode == 0
        mapping = tomllib.loads((study / "mapping.toml").read_text(encoding="utf-8"))
        assert mapping["parts"]["screening"]["event"] == "screening"  # a visit, both arms
        config = str(study / "config.toml")
        doctor = worker(sb, "doctor", "--config", config, cwd=tmp_path)
        assert doctor.returncode == 0, doctor.stdout
        assert "ok   arms: the mapping covers all 2 arms" in doctor.stdout
        study_run = worker(sb, "check", "--config", config, "--format", "json", cwd=tmp_path)
        generic_run = worker(sb, "check", "--format", "json", cwd=tmp_path)
        assert study_run.returncode in (0, 1), study_run.stderr
        # No study rule yet: the study folder's check finds what the project alone gives.
        found = json.loads(study_run.stdout)["findings"]
        assert found == json.loads(generic_run.stdout)["findings"]


def test_from_a_project_xml_init_doctor_and_check_run(tmp_path) -> None:
    """The issue's walk-through: serve a REDCap project XML, init, doctor, check."""
    xml = REPO / "tests" / "fixtures" / "projects" / "two_arm_trial.REDCap.xml"
    with Sandbox.from_project(xml, token=CLASSIC_TOKEN) as sb:
        study = tmp_path / "study"
        run = init(sb, study)
        assert run.returncode == 0, run.stderr
        assert (
            "designate 'data_queries' for the screening event of every arm "
            "(screening_arm_1, screening_arm_2)" in run.stdout
        )
        config = str(study / "config.toml")
        doctor = worker(sb, "doctor", "--config", config, cwd=tmp_path)
        assert doctor.returncode == 0, doctor.stdout
        assert "ok   arms: the mapping covers all 2 arms" in doctor.stdout
        check = worker(sb, "check", "--config", config, "--format", "json", cwd=tmp_path)
        assert check.returncode == 1, check.stderr  # the fixture's seeded generic errors
        document = json.loads(check.stdout)
        assert document["summary"]["records_checked"] == 8
        assert document["summary"]["study_checks"] == 0
        generic = worker(sb, "check", "--format", "json", cwd=tmp_path)
        assert document["findings"] == json.loads(generic.stdout)["findings"]
