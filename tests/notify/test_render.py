"""Text and HTML from one summary: escaped HTML, no values unless allowed, no gaps."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from jinja2 import UndefinedError

import worker.notify.render as render_module
from tests.support.notify import critical, item, query, snapshot
from worker.notify.render import age, item_text, place, render
from worker.notify.summary import compose_critical, compose_digest


class Text(HTMLParser):
    """The HTML's visible text and its tags."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Text:
    parser = Text()
    parser.feed(html)
    return parser


def test_both_parts_carry_every_new_deviation_with_its_link() -> None:
    a, b = critical("8"), critical("11", instance=None)
    rendered = render(compose_critical(snapshot(a, b), [a, b]))
    for part in (rendered.text, rendered.html):
        for i in (a, b):
            assert i.rule in part
            assert i.title in part
            assert i.field in part
    assert a.link in rendered.text
    assert a.link.replace("&", "&amp;") in rendered.html or a.link in rendered.html
    assert "critical" in rendered.text.lower()


def test_html_escapes_every_value() -> None:
    hostile = critical(
        "<b>7</b>", title='Title & "quotes" <script>x</script>', event_label="A<B", link=None
    )
    html = render(compose_critical(snapshot(hostile), [hostile])).html
    assert "<b>7</b>" not in html
    assert "&lt;b&gt;7&lt;/b&gt;" in html
    assert "<script>" not in html
    assert "&amp;" in html
    assert "A&lt;B" in html
    assert "script" not in parse(html).tags


def test_plain_text_is_not_html_escaped() -> None:
    odd = critical("7", title="Viability & phenotype")
    text = render(compose_critical(snapshot(odd), [odd])).text
    assert "Viability & phenotype" in text
    assert "&amp;" not in text
    assert "<" not in text


def test_messages_appear_only_when_values_are_allowed() -> None:
    without = item(message=None)
    with_values = item(message="viability 79.9 %")
    assert (
        "79.9" not in render(compose_digest(snapshot(without), [without], resolved_before=0)).text
    )
    rendered = render(compose_digest(snapshot(with_values), [with_values], resolved_before=0))
    assert "viability 79.9 %" in rendered.text
    assert "viability 79.9 %" in rendered.html


def test_the_digest_has_every_section() -> None:
    new = item()
    text = render(compose_digest(snapshot(new, query()), [new], resolved_before=2)).text
    for heading in (
        "COUNTS (the whole study)",
        "NEW DEVIATIONS (1)",
        "STILL OPEN (1)",
        "OPEN QUERIES PER RECORD",
        "VISITS OVERDUE (1), day numbers after the first infusion",
        "VISITS DUE NOW OR OPENING WITHIN 14 days (0)",
        "STUDY PROGRESS (participants)",
        "2 deviations raised since the last digest were resolved before it went out.",
    ):
        assert heading in text
    assert "\n\n\n" not in text


def test_the_html_has_the_same_sections_as_the_text() -> None:
    new = item()
    html = render(compose_digest(snapshot(new), [new], resolved_before=0)).html
    visible = " ".join(parse(html).text)
    for heading in ("Counts", "New deviations", "Still open", "Open queries per record"):
        assert heading in visible
    assert "Study progress" in visible
    assert "Treated" in visible


def test_a_critical_alert_leaves_out_the_digest_sections() -> None:
    crit = critical()
    text = render(compose_critical(snapshot(crit), [crit])).text
    assert "STILL OPEN" not in text
    assert "STUDY PROGRESS" not in text
    assert "NEW DEVIATIONS (1)" in text


@pytest.mark.parametrize("autoescape", [False, True])
def test_a_missing_value_is_an_error_not_a_blank(autoescape: bool) -> None:
    template = render_module._environment(autoescape).from_string("{{ summary.nope }}")
    with pytest.raises(UndefinedError):
        template.render(summary=object())


def test_places_and_ages_read_naturally() -> None:
    i = item("5", site="site_a", days_open=1)
    assert place(i) == "record 5 · site site_a · Treatment · Intrauterine Infusion #1 · inf_date"
    assert age(i) == "open 1 day"
    assert age(item(days_open=0)) == "opened today"
    assert "(reopened)" in item_text(item(reopened=True))


def test_a_site_column_only_where_records_have_sites() -> None:
    plain = item("5")
    text = render(compose_digest(snapshot(plain), [plain], resolved_before=0)).text
    assert " site " not in text.split("OPEN QUERIES PER RECORD")[1].splitlines()[1]
    sited = item("5", site="site_a")
    rendered = render(compose_digest(snapshot(sited), [sited], resolved_before=0))
    assert "site_a" in rendered.text.split("OPEN QUERIES PER RECORD")[1]
    assert "<th>site</th>" in rendered.html


def test_a_long_digest_shows_the_first_rows_counts_per_check_and_points_to_the_report() -> None:
    new = [item(str(n)) for n in range(1, 8)]
    digest = compose_digest(snapshot(*new), new, resolved_before=0, limit=3)
    rendered = render(digest, report_url="https://intranet.example.org/report.html")
    text = rendered.text
    assert "each list shows its first 3 rows" in text
    assert "The study report has the lists by check: https://intranet.example.org/report.html" in (
        " ".join(text.split())
    )
    assert "COUNTS PER CHECK (the whole study)" in text
    assert "NK-TRT-04      major          7      7  Title of NK-TRT-04" in text
    new_section = text.split("NEW DEVIATIONS (7)")[1].split("STILL OPEN")[0]
    assert new_section.count("  - record ") == 3
    assert "... and 4 more" in new_section
    visible = " ".join(parse(rendered.html).text)
    assert "Counts per check" in visible
    assert "… and 4 more" in visible
    assert visible.count("open in REDCap") == 3 + 3  # new, then still open: 3 rows each
    assert 'href="https://intranet.example.org/report.html"' in rendered.html


def test_a_short_digest_has_no_counts_per_check() -> None:
    new = item()
    rendered = render(compose_digest(snapshot(new), [new], resolved_before=0, limit=3))
    assert "COUNTS PER CHECK" not in rendered.text
    assert "more" not in rendered.text
    assert "Counts per check" not in rendered.html


def test_a_degraded_run_leads_the_digest_with_why() -> None:
    a = item("8")
    why = "check NK-PRG-02 quarantined: rule NK-PRG-02: [pg_fetal_heart]: no such field"
    rendered = render(compose_digest(snapshot(a, degraded=(why,)), [a], resolved_before=0))
    assert rendered.text.lstrip().startswith("NOT A CLEAN RUN")
    assert why in rendered.text.split("COUNTS")[0]
    body = rendered.html.split("<body>")[1]
    assert body.index("Not a clean run") < body.index("<h1>")
    assert why in " ".join(parse(rendered.html).text)
    clean = render(compose_digest(snapshot(a), [a], resolved_before=0))
    assert "NOT A CLEAN RUN" not in clean.text
