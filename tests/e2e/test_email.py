"""Deviation summaries end to end: ``sync`` against the sandbox, mail to a real SMTP server
on loopback, and what arrives: subject, recipients, both parts, the seeded deviations, and
nothing of the records' values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.nk_trial import ruleset
from tests.support.projects import AS_OF, REPO
from tests.support.smtpd import Received, SmtpServer, free_port, smtp_server
from tests.support.worker_process import run_worker, worker_env
from worker import sync as sync_module
from worker.config import load_settings
from worker.core.findings import Kind, Severity
from worker.pipeline import make_client
from worker.session import summary_options, sync_options
from worker.sync import run_sync

pytestmark = pytest.mark.e2e

CONFIG = str(REPO / "config.example.toml")
PROJECT = REPO / "demo" / "nk_trial"
SEEDED = json.loads((PROJECT / "demo_findings.json").read_text(encoding="utf-8"))
METADATA = json.loads((PROJECT / "metadata.json").read_text(encoding="utf-8"))
TITLE = json.loads((PROJECT / "project.json").read_text(encoding="utf-8"))["project_title"]
CHECKS = {c.id: c for c in ruleset().checks}
PI, DATA_MANAGER = "pi@example.org", "dm@example.org"


def seeded(*, severity: Severity | None = None) -> list[dict]:
    """The demo's seeded deviations (of one severity)."""
    return [
        f
        for f in SEEDED
        if f["rule"] in CHECKS
        and CHECKS[f["rule"]].kind is Kind.DEVIATION
        and (severity is None or CHECKS[f["rule"]].severity is severity)
    ]


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def env_for(sandbox, state: Path, port: int, **extra: str) -> dict[str, str]:
    return worker_env(
        sandbox.url,
        sandbox.token,
        WORKER_STATE_DIR=str(state),
        WORKER_EMAIL__SMTP_HOST="127.0.0.1",
        WORKER_EMAIL__SMTP_PORT=str(port),
        WORKER_EMAIL__SECURITY="none",
        WORKER_EMAIL__SENDER="redcap-worker@example.org",
        WORKER_EMAIL__CRITICAL=json.dumps([PI]),
        WORKER_EMAIL__MAJOR=json.dumps([DATA_MANAGER]),
        **({"WORKER_EMAIL__DIGEST": "daily"} | extra),
    )


def sync(env: dict[str, str], *args: str):
    return run_worker("sync", "--config", CONFIG, "--as-of", AS_OF.isoformat(), *args, env=env)


def by_kind(messages: list[Received]) -> tuple[Received, Received]:
    [critical] = [m for m in messages if "CRITICAL" in m.subject]
    [digest] = [m for m in messages if "digest" in m.subject]
    return critical, digest


def mentions(text: str, finding: dict) -> bool:
    """The finding's record, check and field appear together on one line of the text."""
    return any(
        f"record {finding['record']} " in line and finding["field"] in line
        for line in _entries(text, finding["rule"])
    )


def _entries(text: str, rule: str) -> list[str]:
    # Each deviation's lines in the text part: "- record … · field" then "RULE (sev): …".
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{rule} (") and i > 0:
            found.append(lines[i - 1])
        elif f": {rule} (" in line:
            found.append(line)
    return found


def record_values(sandbox) -> dict[str, set[str]]:
    """Values a summary must never carry: dates, free text, decimal measurements."""
    validation = {
        m["field_name"]: m["text_validation_type_or_show_slider_number"] for m in METADATA
    }
    types = {m["field_name"]: m["field_type"] for m in METADATA}
    site_text = {"ae_term", "eos_comment", "inf_reason_not", "mba_comment", "dq_response"}
    found: dict[str, set[str]] = {"date": set(), "text": set(), "number": set()}
    for row in sandbox.rows():
        for name, value in row.items():
            if not value or name not in types:
                continue
            if validation[name].startswith("date"):
                found["date"].add(value)
            elif name in site_text:
                found["text"].add(value)
            elif validation[name] == "number" and "." in value:
                found["number"].add(value)
    return found


def test_sync_mails_the_critical_alert_and_the_digest(demo_sandbox, smtpd, tmp_path) -> None:
    done = sync(env_for(demo_sandbox, tmp_path / "state", smtpd.port))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("summary sent: ") == 2
    critical, digest = by_kind(smtpd.messages)
    n_critical = len(seeded(severity=Severity.CRITICAL))
    study = f"[REDCap worker: {TITLE}]"  # no study_name set: the project title
    assert critical.subject == f"{study} CRITICAL: {n_critical} new protocol deviations"
    assert critical.rcpt_tos == [PI]
    assert critical.message["From"] == "redcap-worker@example.org"
    n_all, n_other = len(seeded()), len(seeded()) - n_critical
    assert digest.subject == f"{study} Deviation digest: {n_other} new, {n_all} open"
    assert digest.rcpt_tos == [DATA_MANAGER]  # only major deviations are new in it
    for received in (critical, digest):
        assert received.message.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in received.message.iter_parts()]
        assert parts == ["text/plain", "text/html"]


def test_every_seeded_critical_deviation_is_in_the_alert_and_all_in_the_digest(
    demo_sandbox, smtpd, tmp_path
) -> None:
    sync(env_for(demo_sandbox, tmp_path / "state", smtpd.port))
    critical, digest = by_kind(smtpd.messages)
    for finding in seeded(severity=Severity.CRITICAL):
        assert mentions(critical.text, finding), finding
        assert finding["rule"] in critical.html
        assert CHECKS[finding["rule"]].title in critical.text
    for finding in seeded():
        assert mentions(digest.text, finding), finding
    # Queries are not deviations: none is listed as one.
    listed = {line.split(": ")[1].split(" (")[0] for line in _still_open(digest.text)}
    assert listed == {f["rule"] for f in seeded()}


def _still_open(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("STILL OPEN ("))
    block = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        block.append(line)
    return [line for line in block if line.strip().startswith("- ")]


def test_links_open_the_form_in_redcap(demo_sandbox, smtpd, tmp_path) -> None:
    sync(env_for(demo_sandbox, tmp_path / "state", smtpd.port))
    critical, _ = by_kind(smtpd.messages)
    base = demo_sandbox.url.removesuffix("api/")
    # NK-TRT-01 on record 8, infusion instance 4 (treatment_arm_1 is event 101 in the demo).
    assert (
        f"{base}redcap_v15.7.6/DataEntry/index.php?pid=4107&id=8&event_id=101&page=infusion"
        "&instance=4" in critical.text
    )


def test_no_value_of_the_records_is_in_any_message(demo_sandbox, smtpd, tmp_path) -> None:
    sync(env_for(demo_sandbox, tmp_path / "state", smtpd.port))
    values = record_values(demo_sandbox)
    assert values["date"]
    assert values["text"]
    assert values["number"]
    for received in smtpd.messages:
        content = "\n".join([received.text, received.html, str(received.message["Subject"])])
        for kind, found in values.items():
            leaked = sorted(v for v in found if v in content)
            assert not leaked, f"{kind} values in {received.subject}: {leaked}"
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", received.text + received.html)


def test_a_summary_that_cannot_be_sent_is_kept_and_sent_once_by_the_next_run(
    demo_sandbox, tmp_path
) -> None:
    port = free_port()  # no server there yet
    env = env_for(demo_sandbox, tmp_path / "state", port)
    down = sync(env)
    assert down.returncode == 4
    assert down.stdout.count("summary not sent: ") == 2
    assert "the next run sends it" in down.stdout
    assert len(list((tmp_path / "state" / "outbox").glob("*.eml"))) == 2
    with smtp_server(port) as server:
        up = sync(env)
        assert up.returncode == 0, up.stderr
        again = sync(env)
    assert again.returncode == 0
    assert len(server.messages) == 2
    assert sorted(m.subject.split("] ")[1].split(":")[0] for m in server.messages) == [
        "CRITICAL",
        "Deviation digest",
    ]
    assert list((tmp_path / "state" / "outbox").glob("*.eml")) == []


def test_with_no_smtp_host_the_demo_prints_where_the_summary_went(demo_sandbox, tmp_path) -> None:
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path))
    done = sync(env)
    assert done.returncode == 0, done.stderr
    paths = re.findall(r"summary written to (\S+\.eml) \(no SMTP host configured\)", done.stdout)
    assert len(paths) == 2
    for path in paths:
        assert Path(path).is_file()
        assert Path(path).parent == tmp_path / "outbox" / "sent"


def test_the_sandbox_demo_command_prints_the_eml_path(tmp_path) -> None:
    env = worker_env("", "", WORKER_STATE_DIR=str(tmp_path))
    done = run_worker("sync", "--config", CONFIG, "--sandbox", env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"summary written to \S+\.eml", done.stdout)


def test_a_dry_run_writes_the_eml_instead_of_sending(demo_sandbox, smtpd, tmp_path) -> None:
    done = sync(env_for(demo_sandbox, tmp_path / "state", smtpd.port), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert smtpd.messages == []
    written = list((tmp_path / "state" / "outbox" / "dry-run").glob("*.eml"))
    assert len(written) == 2
    assert str(written[0].parent) in done.stdout


def test_a_deviation_whose_query_write_was_rejected_is_announced_once_it_lands(
    demo_sandbox, smtpd, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_for(demo_sandbox, tmp_path / "state", smtpd.port, WORKER_EMAIL__DIGEST="every_run")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(Path(CONFIG))
    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", 10)
    demo_sandbox.access.lock_record("12")  # REDCap refuses every write touching it
    first = job(settings)
    assert not first.complete
    demo_sandbox.access.unlock_record("12")
    assert job(settings).complete
    announced = [int(re.search(r"(\d+) new", m.subject).group(1)) for m in smtpd.messages]
    assert sum(announced) == len(seeded())  # each deviation once: none lost, none twice


def job(settings):
    from worker.notify import after_sync
    from worker.state import StateDir, utc_now

    with make_client(settings.redcap) as client:
        result = run_sync(client, sync_options(settings), as_of=AS_OF)
    after_sync(
        summary_options(settings),
        StateDir(settings.state_dir),
        result,
        as_of=AS_OF,
        now=utc_now(),
        dry_run=False,
    )
    return result
