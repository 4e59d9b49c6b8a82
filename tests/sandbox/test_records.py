"""Record delete: whole records or parts of them, and REDCap's refusals."""

from __future__ import annotations

import pytest
import redcap

from tests.support.sandbox import post, pycap
from worker.sandbox import Sandbox


def test_delete_records_returns_the_count(nk: Sandbox) -> None:
    project = pycap(nk)
    assert project.delete_records(["1", "3"]) == 2
    assert {r["record_id"] for r in nk.rows()} == {"2"}
    entry = nk.request_log.deletes()[-1]
    assert entry.records_written == ("1", "3")
    assert entry.status == 200


def test_deleting_an_unknown_record_deletes_nothing(nk: Sandbox) -> None:
    with pytest.raises(redcap.RedcapError) as caught:
        pycap(nk).delete_records(["2", "404", "405"])
    assert caught.value.args[0] == {
        "error": "One or more of the records provided cannot be deleted because they do not "
        "exist in the project. The following records do not exist: 404, 405"
    }
    assert {r["record_id"] for r in nk.rows()} == {"1", "2", "3"}


def test_records_must_be_an_array(nk: Sandbox) -> None:
    answer = post(nk, content="record", action="delete", returnFormat="json", records="1")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("Incorrect format for 'records' parameter.")


def test_delete_one_instance_or_one_instrument(nk: Sandbox) -> None:
    project = pycap(nk)
    project.import_records(
        [
            {
                "record_id": "4",
                "redcap_event_name": "treatment_arm_1",
                "redcap_repeat_instance": k,
                "pb_date": f"2026-0{k}-01",
                "inf_date": f"2026-0{k}-15",
            }
            for k in (1, 2)
        ]
    )
    assert project.delete_records(["4"], event="treatment_arm_1", repeat_instance=2) == 1
    assert [r["redcap_repeat_instance"] for r in project.export_records(records=["4"])] == [1]
    project.delete_records(["4"], event="treatment_arm_1", instrument="infusion")
    (row,) = project.export_records(records=["4"])
    assert (row["pb_date"], row["inf_date"], row["infusion_complete"]) == ("2026-01-01", "", "0")


def test_delete_with_a_bad_event_is_400(nk: Sandbox) -> None:
    with pytest.raises(redcap.RedcapError):
        pycap(nk).delete_records(["1"], event="nope_arm_1")
