"""The Data Quality API module's two pages through the client (worker/redcap_client/drw.py),
against the sandbox: export the DRW statuses, import resolutions, and one line saying what to
ask for when the module or the workflow is off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.projects import DEMO_PROJECT
from worker.errors import RedcapRefused
from worker.redcap_client import RedcapClient
from worker.redcap_client.drw import DEFAULT_PREFIX, DrwApi, module_prefixes
from worker.sandbox import DEMO_TOKEN, Sandbox

pytestmark = pytest.mark.e2e

TS = "2026-03-01 10:00:00"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_folder(DEMO_PROJECT, data="empty") as sandbox:
        yield sandbox


def drw_api(sandbox: Sandbox) -> DrwApi:
    client = RedcapClient(sandbox.url, DEMO_TOKEN, allow_insecure_http=True)
    return DrwApi(client, client.schema(labels=False), DEFAULT_PREFIX)


def resolution_row(sandbox: Sandbox) -> dict:
    return {
        "status_id": "0",
        "project_id": str(sandbox.project.info["project_id"]),
        "record": "1",
        "event_id": str(sandbox.project.event_by_name["fu_m1_arm_1"].event_id),
        "field_name": "mba_date",
        "instance": 1,
        "resolutions": [
            {
                "ts": TS,
                "username": "bot",
                "comment": "c",
                "response_requested": 1,
                "current_query_status": "OPEN",
            }
        ],
    }


def test_the_enabled_modules_are_read_from_the_project_info() -> None:
    assert module_prefixes({"external_modules": "a_module, vanderbilt_dataQuality,"}) == [
        "a_module",
        "vanderbilt_dataQuality",
    ]
    assert module_prefixes({}) == []


def test_a_disabled_module_is_one_line_saying_what_to_do(sandbox: Sandbox) -> None:
    api = drw_api(sandbox)
    with pytest.raises(RedcapRefused) as caught:
        api.export()
    message = str(caught.value)
    assert f"({DEFAULT_PREFIX}) is not enabled on REDCap project" in message
    assert 'queries.target = "instrument"' in message


def test_imported_resolutions_come_back_in_the_export(sandbox: Sandbox) -> None:
    sandbox.drw_module(True)
    api = drw_api(sandbox)
    api.require_enabled()
    assert api.export() == []
    assert api.import_statuses([resolution_row(sandbox)]) == ["1"]
    [status] = api.export()
    assert (status.key.record, status.key.field, status.query_status) == ("1", "mba_date", "OPEN")
    assert [r.username for r in status.resolutions] == ["bot"]
    assert api.export(["2"]) == []


def test_imports_into_a_project_without_the_workflow_say_so(sandbox: Sandbox) -> None:
    sandbox.drw_module(True, drw=False)
    with pytest.raises(RedcapRefused, match="does not have the Data Resolution Workflow enabled"):
        drw_api(sandbox).import_statuses([resolution_row(sandbox)])
