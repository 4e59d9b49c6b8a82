"""DRW reconciliation: the query lifecycle told as resolutions appended to one status per
record, event, field and instance (pure, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.projects import demo_schema
from tests.support.queries import finding
from worker.core.drw import (
    CLOSED,
    OPEN,
    DrwKey,
    DrwShapeError,
    DrwStatus,
    Pending,
    Places,
    Resolution,
    apply_plan,
    as_queries,
    format_tag,
    import_rows,
    parse_export,
    parse_tag,
    reconcile,
)
from worker.core.queries import Action, Status, fingerprint
from worker.core.schema import ProjectSchema

BOT, SITE = "dq-bot", "site_coord"
NOW = "2026-11-26 09:00:00"
LATER = "2026-11-27 09:00:00"


@pytest.fixture(scope="module")
def places() -> Places:
    return Places(demo_schema())


def plan(places, statuses, findings, *, now=NOW, ran=lambda record, rule: True, pending=None):
    return reconcile(
        statuses,
        findings,
        places=places,
        username=BOT,
        ran=ran,
        now=now,
        pending=pending,
    )


def run(places, statuses, findings, now=NOW, **kw):
    """Plan, then what the module holds after importing it."""
    planned = plan(places, statuses, findings, now=now, **kw)
    return planned, list(apply_plan(statuses, planned.resolutions).values())


def close_by(statuses, username: str, ts: str, **kw) -> list[DrwStatus]:
    [status] = statuses
    res = Resolution("", ts, username, current_query_status=CLOSED, **kw)
    return [DrwStatus(status.status_id, status.key, CLOSED, (*status.resolutions, res))]


def test_a_finding_opens_a_status_at_its_record_event_field_and_instance(places):
    found = finding()
    planned, after = run(places, [], [found])
    [res] = planned.resolutions
    assert res.action is Action.CREATE
    assert res.key == DrwKey("4", str(places.event_ids["fu_m2_arm_1"]), "mba_date", 1)
    assert (res.query_status, res.response_requested, res.username, res.ts) == (
        OPEN,
        True,
        BOT,
        NOW,
    )
    assert (
        res.comment
        == f"{found.message} (NK-WIN-01)\n{format_tag({'NK-WIN-01': fingerprint(found)})}"
    )
    assert after[0].query_status == OPEN


def test_an_unchanged_project_plans_nothing(places):
    _, after = run(places, [], [finding()])
    again = plan(places, after, [finding()], now=LATER)
    assert again.resolutions == []
    assert again.unchanged == 1


def test_a_new_message_on_the_same_values_is_not_written_again(places):
    _, after = run(places, [], [finding()])
    again = plan(places, after, [finding(message="a day later, another day count")], now=LATER)
    assert again.resolutions == []


def test_gone_closes_back_reopens(places):
    _, opened = run(places, [], [finding()])
    closing, closed = run(places, opened, [], now=LATER)
    [res] = closing.resolutions
    assert (res.action, res.query_status, res.response_requested) == (Action.RESOLVE, CLOSED, False)
    assert res.comment.startswith("The data now pass NK-WIN-01")
    assert parse_tag(res.comment) == {}

    reopening, reopened = run(places, closed, [finding()], now="2026-11-28 09:00:00")
    [res] = reopening.resolutions
    assert (res.action, res.query_status) == (Action.REOPEN, OPEN)
    assert res.comment.startswith("Found again.")
    assert [r.current_query_status for r in reopened[0].resolutions] == [OPEN, CLOSED, OPEN]


def test_changed_values_while_open_add_a_comment_and_keep_it_open(places):
    _, opened = run(places, [], [finding("48")])
    updating = plan(places, opened, [finding("47")], now=LATER)
    [res] = updating.resolutions
    assert (res.action, res.query_status) == (Action.UPDATE, OPEN)
    assert parse_tag(res.comment) == {"NK-WIN-01": fingerprint(finding("47"))}


def test_a_persons_close_stands_while_the_values_stay_and_falls_when_they_change(places):
    _, opened = run(places, [], [finding("48")])
    closed = close_by(opened, SITE, "2026-11-26 10:00:00", response="CONFIRMED_CORRECT")

    assert plan(places, closed, [finding("48")], now=LATER).resolutions == []
    # Gone and back on the same values: still what the person accepted.
    assert plan(places, closed, [], now=LATER).resolutions == []

    [res] = plan(places, closed, [finding("47")], now=LATER).resolutions
    assert (res.action, res.query_status) == (Action.REOPEN, OPEN)


def test_a_second_check_on_a_closed_field_reopens_it(places):
    _, opened = run(places, [], [finding()])
    closed = close_by(opened, SITE, "2026-11-26 10:00:00")
    other = finding(rule="NK-WIN-03", evidence={"x": "1"})
    [res] = plan(places, closed, [finding(), other], now=LATER).resolutions
    assert res.action is Action.REOPEN
    assert set(parse_tag(res.comment) or {}) == {"NK-WIN-01", "NK-WIN-03"}


def test_checks_sharing_a_field_share_its_status_which_closes_with_the_last(places):
    two = [finding(), finding(rule="NK-WIN-03", evidence={"x": "1"})]
    opening, opened = run(places, [], two)
    assert len(opening.resolutions) == 1
    assert len(opened) == 1

    one_gone, still_open = run(places, opened, two[:1], now=LATER)
    [res] = one_gone.resolutions
    assert (res.action, res.query_status) == (Action.UPDATE, OPEN)

    [res] = plan(places, still_open, [], now="2026-11-28 09:00:00").resolutions
    assert (res.action, res.query_status) == (Action.RESOLVE, CLOSED)


def test_queries_of_checks_that_did_not_run_keep_what_they_said(places):
    _, opened = run(places, [], [finding()])
    partial = plan(places, opened, [], now=LATER, ran=lambda record, rule: False)
    assert partial.resolutions == []
    assert partial.not_run == 1


def test_a_persons_own_query_is_never_closed_by_the_worker(places):
    key = places.key(finding())
    theirs = DrwStatus(
        "9", key, OPEN, (Resolution("1", NOW, SITE, "please check", True, "", OPEN),)
    )
    assert plan(places, [theirs], [], now=LATER).resolutions == []
    [res] = plan(places, [theirs], [finding()], now=LATER).resolutions
    assert (res.action, res.status_id) == (Action.CREATE, "9")


def test_a_timestamp_is_always_after_the_thread_so_the_status_follows_it(places):
    key = places.key(finding())
    ahead = DrwStatus("9", key, CLOSED, (Resolution("1", LATER, SITE, "", False, "", CLOSED),))
    [res] = plan(places, [ahead], [finding()], now=NOW).resolutions
    assert res.ts == "2026-11-27 09:00:01"


def test_a_journaled_resolution_planned_again_keeps_its_timestamp(places):
    first = plan(places, [], [finding()], now=NOW)
    [res] = first.resolutions
    pending = {res.key: res.pending()}
    again = plan(places, [], [finding()], now=LATER, pending=pending)
    assert [r.ts for r in again.resolutions] == [NOW]

    # A different resolution for that place gets a later time of its own.
    other = {res.key: Pending(NOW, CLOSED, format_tag({}))}
    [fresh] = plan(places, [], [finding()], now=LATER, pending=other).resolutions
    assert fresh.ts == LATER


def test_resolutions_by_others_with_the_tag_are_not_the_workers(places):
    key = places.key(finding())
    forged = DrwStatus(
        "9",
        key,
        OPEN,
        (Resolution("1", NOW, SITE, format_tag({"NK-WIN-01": "x"}), True, "", OPEN),),
    )
    assert forged.worker_tag(BOT) is None


def test_tags_round_trip_and_bad_ones_are_not_tags():
    tag = {"NK-WIN-01": "0123456789abcdef", "DQ-RANGE": "fedcba9876543210"}
    assert parse_tag("message\n" + format_tag(tag)) == tag
    assert parse_tag(format_tag({})) == {}
    assert parse_tag("no tag here") is None
    assert parse_tag("[dq-worker =x]") is None


def test_a_finding_without_a_field_goes_on_the_record_id_field(places):
    key = places.key(finding(field=None, event=None, instrument=None))
    assert key.field == "record_id"
    assert key.event_id == str(places.event_ids[places.schema.events[0].unique_name])


def test_a_classic_project_names_no_event():
    schema = ProjectSchema.model_validate(
        {
            "project_id": 7,
            "is_longitudinal": False,
            "fields": {
                "record_id": {"name": "record_id", "form": "f", "field_type": "text"},
                "age": {"name": "age", "form": "f", "field_type": "text"},
            },
            "forms": ["f"],
            "form_events": {None: ["f"]},
        }
    )
    places = Places(schema)
    key = places.key(finding(field="age", event=None, instance=None))
    assert key == DrwKey("4", "", "age", 1)
    [row] = import_rows(
        plan(places, [], [finding(field="age", event=None)]).resolutions, project_id=7
    )
    assert row["event_id"] == "0"  # the module takes a classic project's one event
    exported = {"3": {"status_id": "3", "record": "4", "event_id": "41", "field_name": "age"}}
    assert parse_export(exported, classic=True)[0].key == key


def test_the_import_payload_names_unknown_statuses_by_id_0_and_carries_the_timestamp(places):
    [row] = import_rows(plan(places, [], [finding()]).resolutions, project_id=4107)
    assert row["status_id"] == "0"
    assert row["project_id"] == "4107"
    [res] = row["resolutions"]
    assert (res["ts"], res["username"], res["current_query_status"]) == (NOW, BOT, OPEN)
    assert res["response_requested"] == 1


def test_the_export_is_read_as_the_module_writes_it():
    answer = {
        "12": {
            "status_id": "12",
            "record": "4",
            "event_id": "103",
            "field_name": "mba_date",
            "instance": "1",
            "query_status": "CLOSED",
            "resolutions": {
                "31": {
                    "res_id": "31",
                    "ts": "2026-11-26 10:00:00",
                    "username": SITE,
                    "comment": "ok",
                    "response_requested": "0",
                    "response": "CONFIRMED_CORRECT",
                    "current_query_status": "CLOSED",
                },
                "30": {
                    "res_id": "30",
                    "ts": NOW,
                    "username": BOT,
                    "comment": "x",
                    "response_requested": "1",
                    "response": None,
                    "current_query_status": "OPEN",
                },
            },
        }
    }
    [status] = parse_export(answer, classic=False)
    assert [r.res_id for r in status.resolutions] == ["30", "31"]  # oldest first
    assert status.closed_by() == SITE
    assert status.resolutions[1].response == "CONFIRMED_CORRECT"
    assert parse_export([], classic=False) == []
    with pytest.raises(DrwShapeError):
        parse_export({"1": {"record": "4"}}, classic=False)
    with pytest.raises(DrwShapeError):
        parse_export(["x"], classic=False)


def test_summaries_read_status_and_age_from_the_drw(places):
    found = finding()
    _, opened = run(places, [], [found])
    closed = close_by(opened, SITE, "2026-11-26 10:00:00")

    def to_utc(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)

    kw = {"places": places, "username": BOT, "to_utc": to_utc, "describe": lambda r: (None, None)}
    [query] = as_queries({s.key: s for s in opened}, [found], **kw)["4"]
    assert (query.status, query.opened_at, query.rule) == (
        Status.OPEN,
        datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        "NK-WIN-01",
    )
    assert query.days_open(datetime(2026, 11, 29, tzinfo=UTC)) == 3
    [query] = as_queries({s.key: s for s in closed}, [found], **kw)["4"]
    assert query.status is Status.VERIFIED
    assert not query.is_open
