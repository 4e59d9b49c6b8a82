"""A participant's visit windows as an inline SVG: day numbers after the schedule's anchor
on the axis, each visit's window as a band, each sample as a mark, coloured by status.

Every timeline of a report shares one scale, so participants compare at a glance. The SVG
is plain markup (no script, no external reference) and every text in it is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from worker.core.visits import VisitRow, VisitStatus
from worker.report.collect import Timeline
from worker.text_safety import visible

WIDTH = 960
HEIGHT = 86
LEFT = 96  # room for the record label
RIGHT = 16
AS_OF_Y = 10  # the report date's label, above everything
BAND_TOP, BAND_HEIGHT = 30, 20  # the visit's number sits just above its band
AXIS_Y = 60

# Colour and legend text per status (the legend is built from this table, so they agree).
STYLE: dict[VisitStatus, tuple[str, str]] = {
    VisitStatus.IN_WINDOW: ("#2f855a", "sample in window"),
    VisitStatus.OUT_OF_WINDOW: ("#dd6b20", "sample out of window"),
    VisitStatus.MISSED: ("#c53030", "missed: window closed, no sample"),
    VisitStatus.DUE: ("#2b6cb0", "due now: window open"),
    VisitStatus.UPCOMING: ("#8795a1", "upcoming"),
    VisitStatus.NOT_EXPECTED: ("#9f7aea", "not expected"),
}
AS_OF_COLOUR = "#1a202c"


@dataclass(frozen=True)
class Scale:
    first: int  # day at the left edge
    last: int  # day at the right edge

    @classmethod
    def for_timelines(cls, timelines: Sequence[Timeline]) -> Scale:
        # The windows and samples set the scale; the report date is drawn only where it falls
        # inside it (a schedule that started long ago would squeeze every window otherwise).
        days = [0]
        for t in timelines:
            for row in t.rows:
                days += [row.start_day, row.end_day]
                if row.sample_day is not None:
                    days.append(row.sample_day)
        step = tick_step(max(days) - min(days))
        # Whole ticks at both ends, so the axis starts and ends on a label.
        return cls(first=(min(days) // step) * step, last=-(-max(days) // step) * step + step)

    def x(self, day: float) -> float:
        span = max(self.last - self.first, 1)
        return LEFT + (day - self.first) * (WIDTH - LEFT - RIGHT) / span


def tick_step(span: int) -> int:
    """A round step giving roughly six to twelve ticks over ``span`` days."""
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if span / step <= 12:
            return step
    return max(span // 10, 1)


def _text(value: str) -> Markup:
    """Text from the project (record IDs, site names) for the SVG: escaped as markup, its
    control characters made visible."""
    return escape(visible(value))


def _f(value: float) -> str:
    return f"{value:.1f}"


def render_timeline(timeline: Timeline, scale: Scale, anchor: str) -> Markup:
    label = f"Record {timeline.record}" + (f" ({timeline.site})" if timeline.site else "")
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="100%" role="img" aria-label="{_text(label)}: visit windows, '
        f'days after {_text(anchor)}">',
        f"<title>{_text(label)}</title>",
        f'<text x="0" y="{BAND_TOP + 15}" class="who">{_text(label)}</text>',
    ]
    parts += _axis(scale)
    for row in timeline.rows:
        parts += _band(row, scale)
    for row in timeline.rows:
        parts += _sample(row, scale)
    parts += _as_of(timeline.as_of_day, scale)
    parts.append("</svg>")
    return Markup("".join(parts))


def _as_of(day: int, scale: Scale) -> list[str]:
    """The report date: a dashed line, or an arrow at the edge when it is off the axis."""
    tip = f"<title>the report date: day {day}</title>"
    if day > scale.last:
        x = _f(scale.x(scale.last))
        return [
            f'<text x="{x}" y="{AS_OF_Y}" class="asof" text-anchor="end">as of: day '
            f"{day} →{tip}</text>"
        ]
    x = _f(scale.x(day))
    return [
        f'<line x1="{x}" y1="{AS_OF_Y + 3}" x2="{x}" y2="{AXIS_Y}" stroke="{AS_OF_COLOUR}" '
        f'stroke-width="1.5" stroke-dasharray="3 2">{tip}</line>',
        f'<text x="{x}" y="{AS_OF_Y}" class="asof" text-anchor="middle">as of</text>',
    ]


def _axis(scale: Scale) -> list[str]:
    step = tick_step(scale.last - scale.first)
    y = AXIS_Y
    parts = [
        f'<line x1="{_f(scale.x(scale.first))}" y1="{y}" x2="{_f(scale.x(scale.last))}" '
        f'y2="{y}" class="axis"/>'
    ]
    for day in range(scale.first, scale.last + 1, step):
        x = _f(scale.x(day))
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 4}" class="axis"/>')
        parts.append(f'<text x="{x}" y="{y + 15}" class="tick" text-anchor="middle">{day}</text>')
    return parts


def _meaning(row: VisitRow) -> str:
    """What the row's colour means, with the study's reason where a visit is not expected."""
    return row.status_text if row.reason else STYLE[row.status][1]


def _band(row: VisitRow, scale: Scale) -> list[str]:
    colour, meaning = STYLE[row.status][0], _meaning(row)
    x0, x1 = scale.x(row.start_day), scale.x(row.end_day)
    dashed = ' stroke-dasharray="4 3"' if row.status is VisitStatus.UPCOMING else ""
    tip = f"{row.visit}: window days {row.start_day}–{row.end_day}, {meaning}"
    return [
        f'<rect x="{_f(x0)}" y="{BAND_TOP}" width="{_f(max(x1 - x0, 1))}" '
        f'height="{BAND_HEIGHT}" rx="3" fill="{colour}" fill-opacity="0.22" stroke="{colour}"'
        f"{dashed}><title>{_text(tip)}</title></rect>",
        f'<text x="{_f((x0 + x1) / 2)}" y="{BAND_TOP - 4}" class="band" '
        f'text-anchor="middle">{_text(_short(row))}</text>',
    ]


def _sample(row: VisitRow, scale: Scale) -> list[str]:
    day = row.sample_day
    if day is None:
        return []
    colour, meaning = STYLE[row.status][0], _meaning(row)
    tip = f"{row.visit}: sample on day {day} ({meaning})"
    x, y = scale.x(day), BAND_TOP + BAND_HEIGHT / 2
    parts = []
    if row.status is VisitStatus.OUT_OF_WINDOW:
        # Tie a stray sample to the window it belongs to, which may be far from it.
        edge = scale.x(row.start_day if day < row.start_day else row.end_day)
        parts.append(
            f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{_f(edge)}" y2="{_f(y)}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    return [
        *parts,
        f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5.5" '
        f'fill="{colour}" stroke="#ffffff" stroke-width="1.5"><title>{_text(tip)}</title>'
        "</circle>",
    ]


def _short(row: VisitRow) -> str:
    """The band's label: the visit's number where it has one, else its name."""
    return str(row.ordinal) if row.ordinal is not None else row.visit


def legend(reasons: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(colour, meaning) for every status, in a reading order; "not expected" names the
    study's reasons given (those the report's timelines show)."""
    named = ", ".join(sorted(set(reasons)))
    return [
        (colour, f"{meaning}: {named}" if status is VisitStatus.NOT_EXPECTED and named else meaning)
        for status, (colour, meaning) in STYLE.items()
    ]
