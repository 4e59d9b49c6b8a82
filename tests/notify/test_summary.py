"""A summary's content: generic subjects, counts by severity and kind, records' queries."""

from __future__ import annotations

from tests.support.notify import critical, item, query, snapshot, visit
from worker.core.findings import Severity
from worker.notify.snapshot import VisitState
from worker.notify.summary import compose_critical, compose_digest


def test_subjects_are_generic_and_count_what_the_summary_announces() -> None:
    a, b = critical("8"), critical("11")
    alert = compose_critical(snapshot(a, b), [a, b])
    assert alert.subject == "[REDCap worker] CRITICAL: 2 new protocol deviations"
    digest = compose_digest(snapshot(a, b, item()), [item()], resolved_before=0)
    assert digest.subject == "[REDCap worker] Deviation digest: 1 new, 3 open"
    one = compose_critical(snapshot(a), [a])
    assert one.subject == "[REDCap worker] CRITICAL: 1 new protocol deviation"


def test_a_sites_subject_names_the_site_and_nothing_else() -> None:
    a = critical(site="site_a")
    view = snapshot(a).for_site("site_a")
    assert compose_critical(view, [a]).subject.endswith("(site site_a)")


def test_counts_are_by_severity_and_kind() -> None:
    new = item()
    items = [critical(), new, query(), query(), query(severity=Severity.MAJOR)]
    digest = compose_digest(snapshot(*items), [new], resolved_before=0)
    by = {c.severity: (c.new, c.open_deviations, c.open_queries) for c in digest.counts}
    assert by == {
        Severity.CRITICAL: (0, 1, 0),
        Severity.MAJOR: (1, 1, 1),
        Severity.MINOR: (0, 0, 2),
    }
    assert [c.severity for c in digest.counts] == [
        Severity.CRITICAL,
        Severity.MAJOR,
        Severity.MINOR,
    ]


def test_open_queries_per_record_with_the_oldest_age() -> None:
    items = [item("5", days_open=3), query("5", days_open=12), query("10", days_open=None)]
    digest = compose_digest(snapshot(*items), [], resolved_before=0)
    rows = {r.record: (r.deviations, r.queries, r.oldest_days) for r in digest.records}
    assert rows == {"5": (1, 1, 12), "10": (0, 1, None)}
    assert [r.record for r in digest.records] == ["5", "10"]  # record IDs order as numbers


def test_a_critical_alert_covers_only_the_records_it_announces() -> None:
    crit = critical("8")
    alert = compose_critical(snapshot(crit, query("8"), item("5"), query("5")), [crit])
    assert [r.record for r in alert.records] == ["8"]
    assert alert.open == ()
    assert alert.overdue == ()
    assert alert.due_soon == ()
    assert alert.progress == ()
    assert alert.scope == "the records in this alert"


def test_the_digest_splits_visits_into_overdue_and_due_soon() -> None:
    visits = (
        visit("9", VisitState.OVERDUE, 5),
        visit("18", VisitState.DUE_NOW, 2),
        visit("19", VisitState.OPENS_SOON, 10),
    )
    digest = compose_digest(snapshot(visits=visits), [], resolved_before=0)
    assert [v.record for v in digest.overdue] == ["9"]
    assert [v.record for v in digest.due_soon] == ["18", "19"]
    assert digest.progress == (("Screened", 20), ("Treated", 17))


def test_a_partial_runs_scope_says_so() -> None:
    digest = compose_digest(snapshot(complete=False), [], resolved_before=0)
    assert digest.scope == "the records this run checked"
    assert compose_digest(snapshot(), [], resolved_before=0).scope == "the whole study"


def test_past_the_limit_lists_are_cut_and_counts_per_check_cover_everything() -> None:
    new = [item(str(n)) for n in range(1, 6)] + [critical("9")]
    old = [query(str(n)) for n in range(1, 4)]
    digest = compose_digest(snapshot(*new, *old), new, resolved_before=0, limit=4)
    assert digest.truncated
    assert len(digest.first(digest.new)) == 4
    assert digest.more(digest.new) == 2
    assert digest.first(digest.new)[0].rule == "NK-TRT-01"  # the most severe first
    by = {c.rule: (c.severity, c.new, c.open) for c in digest.by_check}
    assert by == {
        "NK-TRT-01": (Severity.CRITICAL, 1, 1),
        "NK-TRT-04": (Severity.MAJOR, 5, 5),
        "DQ-RANGE": (Severity.MINOR, 0, 3),
    }
    assert [c.rule for c in digest.by_check] == ["NK-TRT-01", "NK-TRT-04", "DQ-RANGE"]


def test_within_the_limit_nothing_is_cut() -> None:
    new = [item(str(n)) for n in range(1, 5)]
    digest = compose_digest(snapshot(*new), new, resolved_before=0, limit=4)
    assert not digest.truncated
    assert digest.first(digest.new) == digest.new
    assert not compose_digest(snapshot(*new), new, resolved_before=0).truncated  # no limit
