"""Export batches are asked for as CSV (a tenth of the JSON's size) and read as the rows the
JSON export gives: the same columns in the same order and the same text, for every bundled
project served by the sandbox, through PyCap over HTTP."""

from __future__ import annotations

import pytest
import redcap

from tests.support.projects import AS_OF, REPO, TWO_ARM_XML
from worker.redcap_client import RedcapClient
from worker.sandbox import DEMO_TOKEN, Sandbox

pytestmark = pytest.mark.e2e


def serve(project: str) -> Sandbox:
    if project == "two_arm_xml":
        return Sandbox.from_project(TWO_ARM_XML, token=DEMO_TOKEN)
    return Sandbox.from_folder(
        project_dir=REPO / "demo" / project, data="demo", as_of=AS_OF, token=DEMO_TOKEN
    )


@pytest.mark.parametrize("project", ["nk_trial", "bp_trial", "two_arm_xml"])
def test_csv_batches_are_the_rows_of_the_json_export(project: str) -> None:
    with serve(project) as sandbox:
        client = RedcapClient(sandbox.url, sandbox.token, allow_insecure_http=True, batch_size=7)
        batches = list(client.iter_record_batches())
        schema = client.schema(labels=False)
        json_rows = redcap.Project(sandbox.url, sandbox.token).export_records(
            records=client.record_ids(),
            fields=[schema.record_id_field],
            forms=schema.forms,
            export_data_access_groups=True,
        )
    rows = [row for batch in batches for row in batch]
    assert len(batches) > 1
    assert rows
    # REDCap's JSON gives every value as text; the sandbox's gives the instance as a number.
    assert rows == [{k: str(v) for k, v in row.items()} for row in json_rows]
    assert [list(row) for row in rows] == [list(row) for row in json_rows]
