"""The project's structure read with several requests at once (``max_concurrent_requests``),
through PyCap against the sandbox: the same structure and the same requests as one after
another, the record-ID listing of a full check sent alongside it and not again, and a
refused structure request failing the run as it does without concurrency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO, TWO_ARM_XML
from tests.support.worker_process import worker_env
from worker.config import Settings, load_settings
from worker.core.schema import ProjectSchema
from worker.errors import RedcapRefused
from worker.pipeline import make_client, run_check
from worker.sandbox import DEMO_TOKEN, Sandbox

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
# One after another: the data dictionary and the project XML (which stands in for the
# form-event mapping and repeating exports), then the project info and events (the only
# exports with the project and event IDs), then the labels.
STRUCTURE_IN_ORDER = ["metadata", "project_xml", "project", "event", "instrument", "version"]
# Without the project XML: the separate exports, the project info alone first.
EXPORTS_IN_ORDER = [
    "project",
    "metadata",
    "event",
    "formEventMapping",
    "repeatingFormsEvents",
    "instrument",
    "version",
]


# What a check asks for its structure: the data dictionary and the project XML.
CHECKING_STRUCTURE = ["metadata", "project_xml"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN
    ) as started:
        yield started


def settings_for(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, at_once: int) -> Settings:
    env = worker_env(
        sandbox.url,
        sandbox.token,
        WORKER_REDCAP__BATCH_SIZE="5",
        WORKER_REDCAP__MAX_CONCURRENT_REQUESTS=str(at_once),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(CONFIG)


def read_schema(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, at_once: int) -> ProjectSchema:
    with make_client(settings_for(sandbox, monkeypatch, at_once=at_once).redcap) as client:
        return client.schema()


def asked(sandbox: Sandbox, since: int = 0) -> list[str]:
    return [e.content for e in list(sandbox.request_log)[since:]]


def test_the_structure_is_the_same_read_one_at_a_time_or_three_at_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults.configure(latency_ms=200)  # long enough for requests to overlap
    sequential = read_schema(sandbox, monkeypatch, at_once=1)
    one_at_a_time = asked(sandbox)
    assert sandbox.request_log.most_at_once() == 1

    mark = len(sandbox.request_log)
    concurrent = read_schema(sandbox, monkeypatch, at_once=3)

    assert one_at_a_time == STRUCTURE_IN_ORDER
    assert Counter(asked(sandbox, mark)) == Counter(STRUCTURE_IN_ORDER)
    assert sandbox.request_log.most_at_once() > 1
    assert concurrent.model_dump() == sequential.model_dump()


@pytest.mark.parametrize("at_once", [1, 3])
def test_a_full_check_lists_the_record_ids_once_alongside_the_structure(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, at_once: int
) -> None:
    settings = settings_for(sandbox, monkeypatch, at_once=at_once)
    with make_client(settings.redcap) as client:
        result = run_check(client, settings.study, as_of=AS_OF)

    entries = list(sandbox.request_log)
    record_exports = [e for e in entries if e.content == "record"]
    listings = [e for e in record_exports if e.records_requested is None]
    batches = [e for e in record_exports if e.records_requested is not None]
    structure = [e.content for e in entries if e.content != "record"]
    assert len(listings) == 1
    # Checking needs no labels nor IDs: the project XML stands in for four exports.
    assert Counter(structure) == Counter(CHECKING_STRUCTURE)
    exported = [record for batch in batches for record in batch.records_requested or ()]
    assert sorted(exported) == sorted(set(exported))
    assert len(exported) == result.records_checked
    # The listing waits for the data dictionary and the project XML; the batches for it.
    assert Counter(e.content for e in entries[:2]) == Counter(CHECKING_STRUCTURE)
    assert entries[2] is listings[0]


@pytest.mark.parametrize("content", ["project", "metadata", "event", "instrument"])
def test_a_refused_structure_request_fails_the_same_way_with_concurrency(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    failures = {}
    for at_once in (1, 3):
        sandbox.faults.plan_content(content, "refuse")
        with pytest.raises(RedcapRefused) as raised:
            read_schema(sandbox, monkeypatch, at_once)
        failures[at_once] = (type(raised.value), str(raised.value))
    assert failures[3] == failures[1]


def test_a_refused_record_id_listing_fails_a_full_check_as_before(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = {}
    for at_once in (1, 3):
        # The listing is the first record export; the batches come after it.
        sandbox.faults.plan_content("record", "refuse")
        settings = settings_for(sandbox, monkeypatch, at_once=at_once)
        with make_client(settings.redcap) as client, pytest.raises(RedcapRefused) as raised:
            run_check(client, settings.study, as_of=AS_OF)
        failures[at_once] = (type(raised.value), str(raised.value))
        batches = [e for e in sandbox.request_log if e.records_requested is not None]
        assert not batches  # nothing exported after the listing failed
    assert failures[3] == failures[1]


@pytest.mark.parametrize("at_once", [1, 3])
def test_a_structure_read_ahead_serves_the_check_that_follows_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, at_once: int
) -> None:
    """`check` reads the structure while it imports the checks: the run that follows asks
    nothing again, lists the record IDs once and finds what a run without it finds."""
    settings = settings_for(sandbox, monkeypatch, at_once=at_once)
    with make_client(settings.redcap) as client:
        plain = run_check(client, settings.study, as_of=AS_OF)

    mark = len(sandbox.request_log)
    with make_client(settings.redcap) as client:
        with client.schema_read_ahead(labels=False, ids=False, list_records=True):
            pass
        read_ahead = run_check(client, settings.study, as_of=AS_OF)

    entries = list(sandbox.request_log)[mark:]
    structure = [e.content for e in entries if e.content != "record"]
    listings = [e for e in entries if e.content == "record" and e.records_requested is None]
    assert Counter(structure) == Counter(CHECKING_STRUCTURE)
    assert len(listings) == 1
    assert read_ahead.findings == plain.findings


def test_a_structure_read_ahead_keeps_a_structure_already_read(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(settings_for(sandbox, monkeypatch, at_once=3).redcap) as client:
        schema = client.schema()
        mark = len(sandbox.request_log)
        with client.schema_read_ahead():
            pass
        assert client.schema() is schema
    assert asked(sandbox, mark) == []


@pytest.mark.parametrize("content", ["project", "metadata", "event"])
def test_a_refused_structure_read_ahead_fails_where_the_read_would_have(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    settings = settings_for(sandbox, monkeypatch, at_once=3)
    sandbox.faults.plan_content(content, "refuse")
    with pytest.raises(RedcapRefused) as read:
        read_schema(sandbox, monkeypatch, at_once=3)

    sandbox.faults.plan_content(content, "refuse")
    with make_client(settings.redcap) as client:
        with client.schema_read_ahead():
            pass  # the refusal is not raised here, by the thread that met it
        with pytest.raises(RedcapRefused) as read_ahead:
            client.schema()
    assert (type(read_ahead.value), str(read_ahead.value)) == (type(read.value), str(read.value))


@pytest.mark.parametrize("at_once", [1, 3])
def test_without_the_project_xml_a_check_reads_the_exports_and_finds_the_same(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, at_once: int
) -> None:
    """A REDCap (or stand-in) that refuses the project XML costs the four exports it stands
    for, never a finding; the listing is asked for once, after the structure."""
    settings = settings_for(sandbox, monkeypatch, at_once=at_once)
    with make_client(settings.redcap) as client:
        with_xml = run_check(client, settings.study, as_of=AS_OF)
    mark = len(sandbox.request_log)
    sandbox.faults.plan_content("project_xml", "refuse")
    with make_client(settings.redcap) as client:
        without = run_check(client, settings.study, as_of=AS_OF)

    entries = list(sandbox.request_log)[mark:]
    structure = [e.content for e in entries if e.content != "record"]
    listings = [e for e in entries if e.content == "record" and e.records_requested is None]
    assert Counter(structure) == Counter(["project_xml", *EXPORTS_IN_ORDER[:5]])
    assert len(listings) == 1
    assert without.findings == with_xml.findings
    assert without.records_checked == with_xml.records_checked


@pytest.mark.parametrize("project", ["nk_trial", "bp_trial", "two_arm_xml"])
def test_the_project_xml_gives_the_structure_the_exports_give(
    project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For each bundled project, served by the sandbox: the structure read with the project
    XML is the one read from the separate exports (the project XML refused); without the
    project and event IDs (which only links and module pages need), the same but for them."""
    if project == "two_arm_xml":
        served = Sandbox.from_project(TWO_ARM_XML, data=None, token=DEMO_TOKEN)
    else:
        served = Sandbox.from_folder(
            project_dir=REPO / "demo" / project, data="demo", as_of=AS_OF, token=DEMO_TOKEN
        )
    with served as sandbox:
        settings = settings_for(sandbox, monkeypatch, at_once=3)
        with make_client(settings.redcap) as client:
            lean = client.schema(labels=False, ids=False)
        with make_client(settings.redcap) as client:
            full = client.schema()
        mark = len(sandbox.request_log)
        sandbox.faults.plan_content("project_xml", "refuse")
        with make_client(settings.redcap) as client:
            exported = client.schema()
        assert "formEventMapping" in asked(sandbox, mark)
    assert full == exported
    assert full.project_id is not None
    assert lean.project_id is None
    assert lean == full.model_copy(
        update={
            "project_id": None,
            "events": [e.model_copy(update={"event_id": None}) for e in full.events],
            "redcap_version": None,
            "form_labels": {},
        }
    )
