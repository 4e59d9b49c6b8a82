"""A participant's visit windows as SVG: bands, samples, the report date, escaped text."""

from __future__ import annotations

import dataclasses
from xml.etree import ElementTree

from tests.support.report import row
from worker.core.visits import VisitStatus
from worker.report.collect import Timeline
from worker.report.timeline import STYLE, Scale, legend, render_timeline, tick_step

SVG = "{http://www.w3.org/2000/svg}"


def timeline(record: str = "5", as_of_day: int = 100) -> Timeline:
    rows = [
        row(1, VisitStatus.IN_WINDOW, 28),
        row(2, VisitStatus.OUT_OF_WINDOW, 70),
        row(3, VisitStatus.MISSED),
        row(4, VisitStatus.DUE),
        row(5, VisitStatus.UPCOMING),
    ]
    return Timeline(record=record, site="", rows=rows, as_of_day=as_of_day)


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)


def test_each_window_is_a_band_and_each_sample_a_mark_in_its_status_colour() -> None:
    t = timeline()
    svg = parse(render_timeline(t, Scale.for_timelines([t]), "the first infusion"))
    bands = svg.findall(f"{SVG}rect")
    marks = svg.findall(f"{SVG}circle")
    assert len(bands) == 5
    assert len(marks) == 2
    assert [b.get("stroke") for b in bands] == [STYLE[r.status][0] for r in t.rows]
    assert [m.get("fill") for m in marks] == [
        STYLE[VisitStatus.IN_WINDOW][0],
        STYLE[VisitStatus.OUT_OF_WINDOW][0],
    ]
    assert svg.get("class") == "timeline"


def test_a_stray_sample_is_tied_to_its_window() -> None:
    t = timeline()
    svg = parse(render_timeline(t, Scale.for_timelines([t]), "day 0"))
    colour = STYLE[VisitStatus.OUT_OF_WINDOW][0]
    assert [line for line in svg.findall(f"{SVG}line") if line.get("stroke") == colour]


def test_the_report_date_is_a_line_inside_the_axis_and_an_arrow_beyond_it() -> None:
    inside = timeline(as_of_day=100)
    svg = parse(render_timeline(inside, Scale.for_timelines([inside]), "day 0"))
    assert any(t.text == "as of" for t in svg.iter(f"{SVG}text"))
    far = timeline(as_of_day=700)
    svg = parse(render_timeline(far, Scale.for_timelines([far]), "day 0"))
    assert any((t.text or "").startswith("as of: day 700") for t in svg.iter(f"{SVG}text"))


def test_the_scale_covers_every_window_and_sample_from_day_zero() -> None:
    t = timeline(as_of_day=700)
    scale = Scale.for_timelines([t])
    assert scale.first == 0
    assert scale.last >= 28 * 5 + 7
    assert scale.last < 700  # the report date does not stretch the axis


def test_text_in_the_svg_is_escaped() -> None:
    t = timeline(record="<b>&</b>")
    markup = render_timeline(t, Scale.for_timelines([t]), "the <first> infusion")
    assert "<b>" not in markup
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in markup
    parse(markup)  # still well-formed


def test_ticks_are_round_numbers() -> None:
    assert tick_step(190) == 20
    assert tick_step(50) == 5
    assert tick_step(1000) == 100


def test_the_legend_names_every_status() -> None:
    assert len(legend()) == len(VisitStatus)


def test_a_visit_not_expected_shows_the_studys_reason() -> None:
    skipped = dataclasses.replace(row(3, VisitStatus.NOT_EXPECTED), reason="withdrew")
    t = Timeline(record="5", site="", rows=[skipped], as_of_day=100)
    svg = str(render_timeline(t, Scale.for_timelines([t]), "day 0"))
    assert "month 3: window days 77–91, not expected: withdrew" in svg


def test_the_legend_names_the_reasons_the_timelines_show() -> None:
    colour = STYLE[VisitStatus.NOT_EXPECTED][0]
    assert (colour, "not expected: ended, pregnant") in legend(["pregnant", "ended", "pregnant"])
    assert (colour, "not expected") in legend()
