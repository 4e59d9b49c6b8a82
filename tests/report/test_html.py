"""The report page: its sections, one timeline per treated participant, nothing fetched."""

from __future__ import annotations

import re

from tests.support.projects import AS_OF
from tests.support.report import BASE, NOW, collect, page
from worker.core.rules.wording import Wording
from worker.report import ReportData, render_report


def test_the_page_has_every_section(demo_rows) -> None:
    parsed = page(render_report(collect(demo_rows)))
    ids = {a.get("id") for _, a in parsed.tags}
    assert {"progress", "deviations", "queries", "visits"} <= ids
    visible = " ".join(parsed.text)
    for heading in (
        "Study progress",
        "Deviations (",
        "Open queries by record and age",
        "Visit windows per treated participant",
    ):
        assert heading in visible


def test_one_svg_timeline_per_treated_participant(demo_rows) -> None:
    data = collect(demo_rows)
    parsed = page(render_report(data))
    treated = dict(data.progress)["Treated (first infusion given)"]
    assert len(parsed.all("svg", **{"class": "timeline"})) == treated == len(data.timelines)


def test_nothing_is_fetched_from_anywhere(demo_rows) -> None:
    html = render_report(collect(demo_rows))
    parsed = page(html)
    assert parsed.all("link") == []
    assert parsed.all("script") == []
    assert parsed.all("img") == []
    assert all("src" not in attrs for _, attrs in parsed.tags)
    assert "url(" not in html
    assert "@import" not in html
    # The only web addresses are links for a person to follow into REDCap's forms (the SVG
    # namespace is a name, never fetched).
    hrefs = {a["href"] for a in parsed.all("a") if a.get("href", "").startswith("http")}
    assert hrefs
    assert all(h.startswith(f"{BASE}/redcap_v15.7.6/DataEntry/index.php?") for h in hrefs)
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert addresses - {h.replace("&", "&amp;") for h in hrefs} == {"http://www.w3.org/2000/svg"}


def test_no_calendar_date_of_a_record_and_no_free_text(demo_sandbox, demo_rows) -> None:
    html = render_report(collect(demo_rows))
    dates = set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", html))
    assert dates == {AS_OF.isoformat(), "2026-11-26"}  # the report date and its generation
    for row in demo_rows:
        for name in ("ae_term", "eos_comment", "inf_reason_not", "mba_comment"):
            if row.get(name):
                assert row[name] not in html


def test_values_are_escaped(demo_rows) -> None:
    data = collect(demo_rows)
    data.title = "<script>alert(1)</script> & co"
    html = render_report(data)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_study_that_gives_no_words_gets_generic_headings() -> None:
    data = ReportData(title="", project_id=None, as_of=AS_OF, generated_at=NOW, has_schedule=True)
    visible = " ".join(page(render_report(data)).text)
    assert "Visit windows per participant with a visit schedule (0)" in visible
    assert "No participant with a visit schedule yet." in visible


def test_the_studys_words_head_the_timelines(demo_rows) -> None:
    data = collect(demo_rows)
    data.wording = Wording(scheduled_participant="dosed patient", schedule_anchor="the first dose")
    visible = " ".join(page(render_report(data)).text)
    assert f"Visit windows per dosed patient ({len(data.timelines)})" in visible
    assert "Days after the first dose on the axis" in visible


def test_the_page_shows_each_checks_coverage(demo_rows) -> None:
    data = collect(demo_rows)
    coverage = {rule: (ran, errored, skipped) for rule, _, ran, errored, skipped in data.coverage}
    assert coverage["NK-SAE-03"][1] == 0
    assert coverage["NK-SAE-03"][0] + sum(coverage["NK-SAE-03"][2].values()) == (
        data.records_checked
    )
    parsed = page(render_report(data))
    assert parsed.all("section", id="coverage")
    visible = " ".join(parsed.text)
    assert "Check coverage" in visible
    assert "NK-SAE-03" in visible
    assert "Not a clean run" not in visible


def test_a_degraded_report_says_why_among_its_problems(demo_rows) -> None:
    data = collect(demo_rows)
    data.degraded = ["check NK-PRG-02 quarantined: field 'pg_fetal_heart' is not in the project"]
    visible = " ".join(page(render_report(data)).text)
    assert "Not a clean run" in visible
    assert "pg_fetal_heart" in visible
