"""Which summaries a run sends, to whom, and what the ledger remembers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.support.notify import NOW, critical, email_settings, item, query, snapshot
from worker.core.findings import Severity
from worker.notify.plan import Ledger, audience_of, plan_summaries, recipients_for
from worker.notify.summary import SummaryKind

EMAIL = email_settings(digest="daily")


def plan(snap, ledger=None, email=EMAIL, now=NOW):
    return plan_summaries(snap, ledger or Ledger(), email, now=now, timezone="UTC")


def test_a_new_critical_deviation_goes_out_at_once_to_the_critical_list() -> None:
    crit = critical()
    planned = plan(snapshot(crit), Ledger(last_digest_at=NOW - timedelta(hours=1)))
    [out] = planned.outgoing
    assert out.summary.kind is SummaryKind.CRITICAL
    assert out.summary.new == (crit,)
    assert recipients_for(out.audience, EMAIL) == ("pi@example.org",)
    assert planned.ledger.announced == [crit.key]
    assert planned.ledger.pending == []


def test_other_new_deviations_wait_for_the_digest_when_it_is_not_due() -> None:
    major = item()
    planned = plan(snapshot(major), Ledger(last_digest_at=NOW - timedelta(hours=1)))
    assert planned.outgoing == []
    assert planned.ledger.pending == [major.key]
    assert planned.ledger.last_digest_at == NOW - timedelta(hours=1)


def test_the_digest_lists_the_new_ones_and_everything_open_when_due() -> None:
    crit, major, old = critical(), item("6"), item("7")
    ledger = Ledger(announced=[crit.key, old.key], pending=[major.key])
    planned = plan(snapshot(crit, major, old, query()), ledger)
    [digest] = planned.outgoing
    assert digest.summary.kind is SummaryKind.DIGEST
    assert digest.summary.new == (major,)
    assert set(digest.summary.open) == {crit, major, old}  # queries are not deviations
    assert recipients_for(digest.audience, EMAIL) == ("dm@example.org",)
    assert planned.ledger.pending == []
    assert set(planned.ledger.announced) == {crit.key, major.key, old.key}
    assert planned.ledger.last_digest_at == NOW


def test_nothing_new_sends_nothing_even_when_the_digest_is_due() -> None:
    old = item()
    planned = plan(snapshot(old), Ledger(announced=[old.key]))
    assert planned.outgoing == []
    assert planned.ledger.last_digest_at is None


def test_a_partial_run_sends_critical_alerts_but_never_the_digest() -> None:
    crit, major = critical(), item()
    planned = plan(snapshot(crit, major, complete=False))
    assert [o.summary.kind for o in planned.outgoing] == [SummaryKind.CRITICAL]
    assert planned.ledger.pending == [major.key]


def test_a_partial_run_forgets_nothing_about_records_it_did_not_see() -> None:
    elsewhere = "gone-from-this-run/1/0"
    planned = plan(snapshot(complete=False), Ledger(announced=[elsewhere]))
    assert planned.ledger.announced == [elsewhere]


def test_a_complete_run_forgets_deviations_that_are_no_longer_open() -> None:
    still = item()
    planned = plan(snapshot(still), Ledger(announced=[still.key, "resolved/1/0"]))
    assert planned.ledger.announced == [still.key]


def test_deviations_resolved_before_the_digest_are_counted_not_listed() -> None:
    major = item()
    ledger = Ledger(pending=[major.key, "resolved-meanwhile/1/0"])
    [digest] = plan(snapshot(major), ledger).outgoing
    assert digest.summary.new == (major,)
    assert digest.summary.resolved_before == 1


def test_a_digest_whose_new_deviations_were_all_resolved_is_not_sent() -> None:
    planned = plan(snapshot(), Ledger(pending=["resolved-meanwhile/1/0"]))
    assert planned.outgoing == []
    assert planned.ledger.pending == []


def test_an_announced_deviation_is_not_announced_again() -> None:
    crit = critical()
    first = plan(snapshot(crit))
    second = plan(snapshot(crit), first.ledger)
    assert second.outgoing == []


def test_a_reopened_deviation_is_a_new_occurrence_and_is_announced_again() -> None:
    crit = critical()
    first = plan(snapshot(crit))
    reopened = replace(crit, key=crit.key.replace("/0", "/1"), reopened=True)
    [alert] = plan(snapshot(reopened), first.ledger).outgoing
    assert alert.summary.new == (reopened,)


def test_every_run_cadence_sends_a_digest_each_complete_run() -> None:
    email = email_settings(digest="every_run")
    first = plan(snapshot(item("5")), email=email)
    second = plan(snapshot(item("6")), first.ledger, email=email, now=NOW + timedelta(minutes=5))
    assert [len(p.outgoing) for p in (first, second)] == [1, 1]


def test_the_study_team_gets_the_digest_by_the_severities_it_announces() -> None:
    minor = item(severity=Severity.MINOR)
    major = item()
    [digest] = plan(snapshot(minor, major)).outgoing
    assert recipients_for(digest.audience, EMAIL) == ("dm@example.org", "monitor@example.org")


def test_each_site_with_recipients_gets_its_own_summary_of_its_own_records() -> None:
    email = email_settings(sites={"site_a": ["a@example.org"], "site_b": ["b@example.org"]})
    a, b, none = critical("1", site="site_a"), critical("2", site="site_b"), critical("3")
    outgoing = plan(snapshot(a, b, none), email=email).outgoing
    by_audience = {o.audience: o for o in outgoing}
    assert set(by_audience) == {"study:critical", "site:site_a", "site:site_b"}
    assert by_audience["study:critical"].summary.new == (a, b, none)
    assert by_audience["site:site_a"].summary.new == (a,)
    assert by_audience["site:site_a"].summary.site == "site_a"
    assert recipients_for("site:site_b", email) == ("b@example.org",)
    assert len({o.key for o in outgoing}) == 3


def test_a_site_view_carries_only_its_records_everywhere() -> None:
    email = email_settings(sites={"site_a": ["a@example.org"]})
    mine, theirs = item("1", site="site_a"), item("2", site="site_b")
    outgoing = plan(snapshot(mine, theirs, query("2", site="site_b")), email=email).outgoing
    [site] = [o for o in outgoing if o.audience == "site:site_a"]
    assert site.summary.open == (mine,)
    assert [r.record for r in site.summary.records] == ["1"]


def test_summary_keys_depend_on_what_is_announced_only() -> None:
    crit = critical()
    first = plan(snapshot(crit)).outgoing[0].key
    again = plan(snapshot(crit, item()), now=NOW + timedelta(days=3)).outgoing[0].key
    assert first == again  # a crash before the ledger was saved re-queues the same file
    other = plan(snapshot(critical())).outgoing[0].key
    assert other != first


def test_audiences_name_severities_by_rank() -> None:
    assert audience_of(None, {Severity.MINOR, Severity.CRITICAL}) == "study:critical,minor"
    assert audience_of("site_a") == "site:site_a"
    assert recipients_for("study:", email_settings()) == ()
