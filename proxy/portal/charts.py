"""Server-rendered SVG charts: geometry computed here, drawn by ``portal/chart.html``.

No script and no inline style (the pages' CSP forbids both): bars are ``<rect>`` elements whose
colours come from classes of the site's stylesheet. Each chart is laid out twice, for a wide and
a narrow screen (the stylesheet shows one), so that its text stays legible on a phone. Every
chart carries a ``<title>`` and a ``<desc>`` (``role="img"``), each bar its own ``<title>``, and
the page adds the same numbers as a table (WCAG 2.1 1.1.1, 1.4.1: colour is never the only
carrier of meaning).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: (width, height) of the two layouts, in SVG user units.
WIDE = (720, 280)
NARROW = (360, 260)
_RIGHT, _TOP, _BOTTOM = 12, 12, 36
_CHAR = 6.8  # width of one character of the 12 px axis labels, generously
_TICK_SPACING = 56  # least distance between two axis labels


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a column: its value, its CSS class (``""``, ``alt``, ``partial``,
    ``denied``) and its value written for people."""

    value: float
    css: str
    text: str


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its full label (``title``), a short axis label, stacked segments."""

    title: str
    tick: str
    segments: tuple[Segment, ...]

    @property
    def total(self) -> float:
        """Height of the stack."""
        return sum(s.value for s in self.segments)


@dataclass(frozen=True, slots=True)
class Rect:
    """A drawn bar segment."""

    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    """A text at ``(x, y)``; ``anchor`` is the SVG ``text-anchor``."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything ``portal/chart.html`` draws for one screen size."""

    width: int
    height: int
    left: int  # x of the value axis (the labels are on its left)
    rects: tuple[Rect, ...]
    ticks: tuple[Label, ...]
    grid: tuple[tuple[float, Label], ...]  # (y of the line, its value label)
    axis_y: float
    line: str  # SVG polyline points, empty when the chart has no line
    dots: tuple[Label, ...]  # line vertices, with their titles


def nice_step(top: float, lines: int = 4) -> float:
    """A round gridline step (1, 2 or 5 times a power of ten) giving about ``lines`` lines."""
    raw = top / lines
    if not raw > 1e-9:  # nothing to scale (zero, or a denormal float's underflow)
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover (the loop always returns)


def layout(columns: Sequence[Column], size: tuple[int, int], value_text: Callable[[float], str],
           *, line: Sequence[float] | None = None, counts: bool = False) -> Layout:
    """Lay out ``columns`` (bars, stacked) or, with ``line``, one value per column joined by a
    line; ``value_text`` writes the gridline values; ``counts`` keeps gridlines on whole
    numbers."""
    width, height = size
    values = list(line) if line is not None else [c.total for c in columns]
    top = max([v for v in values if v > 0] or [1.0])
    step = nice_step(top)
    if counts:
        step = max(step, 1.0)
    top = step * math.ceil(top / step)
    levels = [k * step for k in range(round(top / step) + 1)]
    texts = [value_text(v) for v in levels]
    left = max(40, round(10 + _CHAR * max(len(x) for x in texts)))  # room for the longest
    plot_w, plot_h = width - left - _RIGHT, height - _TOP - _BOTTOM
    n = max(len(columns), 1)
    slot = plot_w / n
    gap = min(slot * 0.2, 6.0) if n > 1 else slot * 0.3
    axis_y = _TOP + plot_h

    def y_of(value: float) -> float:
        return axis_y - plot_h * (value / top)

    rects: list[Rect] = []
    dots: list[Label] = []
    points: list[str] = []
    for i, column in enumerate(columns):
        x = left + i * slot
        if line is None:
            base = 0.0
            for segment in column.segments:
                if segment.value <= 0:
                    continue
                y0, y1 = y_of(base + segment.value), y_of(base)
                rects.append(Rect(round(x + gap / 2, 2), round(y0, 2),
                                  round(max(slot - gap, 0.5), 2), round(max(y1 - y0, 0.5), 2),
                                  segment.css, f"{column.title}: {segment.text}"))
                base += segment.value
        else:
            cx, cy = round(x + slot / 2, 2), round(y_of(line[i]), 2)
            points.append(f"{cx},{cy}")
            dots.append(Label(cx, cy, f"{column.title}: {value_text(line[i])}"))
    every = max(1, math.ceil(n / max(1, plot_w // _TICK_SPACING)))
    ticks = tuple(Label(round(left + (i + 0.5) * slot, 2), axis_y + 18, c.tick)
                  for i, c in enumerate(columns) if i % every == 0 and c.tick)
    grid = tuple((round(y_of(v), 2), Label(left - 6, round(y_of(v), 2) + 4, text, "end"))
                 for v, text in zip(levels, texts, strict=True))
    return Layout(width, height, left, tuple(rects), ticks, grid, axis_y, " ".join(points),
                  tuple(dots))


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart for a page: an id (for ARIA), a title, a text summary, both layouts, and the
    rows of its accessible table."""

    id: str
    title: str
    summary: str
    wide: Layout
    narrow: Layout
    columns: tuple[Column, ...]


def chart(chart_id: str, title: str, summary: str, columns: Sequence[Column],
          value_text: Callable[[float], str], *, line: Sequence[float] | None = None,
          counts: bool = False) -> Chart:
    """Both layouts of one chart."""
    return Chart(chart_id, title, summary,
                 layout(columns, WIDE, value_text, line=line, counts=counts),
                 layout(columns, NARROW, value_text, line=line, counts=counts), tuple(columns))
