"""Inline SVG charts for report pages, each with labelled axes, tick labels and a scale.

A chart is drawn in a viewBox a few hundred units wide and CSS scales it to its box, so it
shrinks to a phone's width and keeps its shape; its text is 12 units (the page's style), so
it stays readable at any width a page gives it. Every chart is ``role=img`` with an
aria-label and a ``<title>`` saying what it shows, and every bar or point has a ``<title>``
with its exact numbers. Charts never hold rows of data, only the bars or points they draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelyard.htmlpage.shell import Html, escape
from modelyard.htmlpage.ticks import (
    HOUR,
    edge_labels,
    nice_ticks,
    number,
    percent,
    time_ticks,
    when,
)

WIDTH = 380  # viewBox width of a bar chart: about a card's width on a desktop page
LINE_WIDTH = 420
_TOP, _RIGHT = 12, 18
_LINE1, _LINE2 = 16, 29  # tick label baselines under the axis


@dataclass(frozen=True)
class Series:
    """One named set of bar heights (or shares) drawn in one colour."""

    name: str
    values: Sequence[float]
    colour: str


def _svg(width: int, height: int, label: str, body: str) -> Html:
    return Html(
        f"<svg class='chart' viewBox='0 0 {width} {height}' style='max-width:{width * 3 // 2}px' "
        f"role='img' aria-label='{escape(label)}'><title>{escape(label)}</title>{body}</svg>"
    )


def _y_axis(
    ticks: list[float],
    text: Callable[[float], str],
    sy: Callable[[float], float],
    left: float,
    right: float,
    title: str,
    top: float,
    bottom: float,
) -> str:
    """Horizontal grid lines with their labels left of the plot, the axis title turned up."""
    parts = []
    for tick in ticks:
        y = sy(tick)
        parts.append(
            f"<line class='g' x1='{left}' x2='{right}' y1='{y:.1f}' y2='{y:.1f}'/>"
            f"<text x='{left - 5}' y='{y + 4:.1f}' text-anchor='end'>{escape(text(tick))}</text>"
        )
    middle = (top + bottom) / 2
    most = int((bottom - top) / 7)  # characters the axis has room for
    title = title if len(title) <= most else title[: most - 1] + "\u2026"
    parts.append(
        f"<text class='title' transform='rotate(-90)' x='{-middle:.0f}' y='13' "
        f"text-anchor='middle'>{escape(title)}</text>"
    )
    return "".join(parts)


def _x_title(title: str, left: float, right: float, y: float) -> str:
    return (
        f"<text class='title' x='{(left + right) / 2:.0f}' y='{y:.0f}' text-anchor='middle'>"
        f"{escape(title)}</text>"
    )


def _x_tick(x: float, bottom: float, first: str, second: str, anchor: str) -> str:
    out = (
        f"<line class='a' x1='{x:.1f}' x2='{x:.1f}' y1='{bottom}' y2='{bottom + 4}'/>"
        f"<text x='{x:.1f}' y='{bottom + _LINE1}' text-anchor='{anchor}'>{escape(first)}</text>"
    )
    if second:
        out += (
            f"<text x='{x:.1f}' y='{bottom + _LINE2}' text-anchor='{anchor}'>"
            f"{escape(second)}</text>"
        )
    return out


def _anchor(x: float, left: float, right: float) -> str:
    """Labels at the ends of an axis lean inwards, so they never leave the chart."""
    if x - left < 14:
        return "start"
    if right - x < 14:
        return "end"
    return "middle"


def histogram(
    edges: Sequence[float],
    series: Sequence[Series],
    *,
    label: str,
    x_title: str,
    y_title: str,
    shares: bool,
) -> Html:
    """Bars over numeric bins, the series side by side in each bin. The x axis marks the
    bin edges and labels a few of them; the y axis is a share of rows (``shares``) or a
    count. Each bar's tooltip gives its bin's range and value."""
    bins = len(edges) - 1
    if bins <= 0 or not series:
        return Html("")
    width, height = WIDTH, 232
    left, right, top = 58, width - _RIGHT, _TOP
    bottom = height - 44
    peak = max([v for s in series for v in s.values] + [0.0])
    y_ticks = nice_ticks(0.0, peak if peak > 0 else 1.0, 4)
    y_step = y_ticks[1] - y_ticks[0]
    y_max = y_ticks[-1]

    def sy(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    def y_text(value: float) -> str:
        return percent(value, y_step) if shares else number(value, y_step, size=y_max)

    slot = (right - left) / bins
    inner = max(slot - 2.0, 1.0)
    bar = inner / len(series)
    label_of = _edge_text(edges)
    parts = [_y_axis(y_ticks, y_text, sy, left, right, y_title, top, bottom)]
    for i in range(bins):
        values = [s.values[i] for s in series]
        if not any(values):
            continue
        tip = f"{label_of(i)}: " + ", ".join(
            f"{s.name} {_amount(v, shares)}" for s, v in zip(series, values, strict=True)
        )
        rects = "".join(
            f"<rect x='{left + i * slot + 1 + j * bar:.1f}' y='{sy(v):.1f}' "
            f"width='{bar:.1f}' height='{bottom - sy(v):.1f}' fill='{s.colour}'/>"
            for j, (s, v) in enumerate(zip(series, values, strict=True))
            if v
        )
        parts.append(f"<g><title>{escape(tip)}</title>{rects}</g>")
    parts.append(f"<line class='a' x1='{left}' x2='{right}' y1='{bottom}' y2='{bottom}'/>")
    labelled = edge_labels(list(edges), 5)
    step = edges[labelled[1]] - edges[labelled[0]] if len(labelled) > 1 else 0.0
    size = max(abs(edges[i]) for i in labelled)
    for index in labelled:
        x = left + index * slot
        text = number(edges[index], step, exact=False, size=size)
        parts.append(_x_tick(x, bottom, text, "", _anchor(x, left, right)))
    parts.append(_x_title(x_title, left, right, height - 5))
    return _svg(width, height, label, "".join(parts))


def _amount(value: float, shares: bool) -> str:
    return f"{value:.1%}" if shares else f"{value:,.0f}"


def _edge_text(edges: Sequence[float]) -> Callable[[int], str]:
    """A bin's range as a tooltip says it: [lo, hi), the last bin closed."""

    def text(i: int) -> str:
        close = "]" if i == len(edges) - 2 else ")"
        return f"[{edges[i]:.6g}, {edges[i + 1]:.6g}{close}"

    return text


def categories(
    names: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    x_title: str,
    y_title: str,
) -> Html:
    """Horizontal bars, one band per category (the series side by side in it), for shares
    of rows: category names on the left, a percentage scale below."""
    if not names or not series:
        return Html("")
    short = [n if len(n) <= 16 else n[:15] + "\u2026" for n in names]
    left = 14 + min(max(len(s) for s in short), 16) * 7.4
    band = 10 + 9 * len(series)
    width, top = WIDTH, _TOP + 16
    bottom = top + band * len(names)
    height = int(bottom + 44)
    right = width - _RIGHT
    peak = max([v for s in series for v in s.values] + [0.0])
    x_ticks = nice_ticks(0.0, peak if peak > 0 else 1.0, 4)
    x_step, x_max = x_ticks[1] - x_ticks[0], x_ticks[-1]

    def sx(value: float) -> float:
        return left + (right - left) * value / x_max

    parts = []
    for tick in x_ticks:
        x = sx(tick)
        parts.append(
            f"<line class='g' x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{bottom}'/>"
            + _x_tick(x, bottom, percent(tick, x_step), "", "middle")
        )
    bar = (band - 8) / len(series)
    for i, (name, shown) in enumerate(zip(names, short, strict=True)):
        y = top + i * band + 4
        tip = f"{name}: " + ", ".join(f"{s.name} {s.values[i]:.1%}" for s in series)
        rects = "".join(
            f"<rect x='{left}' y='{y + j * bar:.1f}' width='{sx(s.values[i]) - left:.1f}' "
            f"height='{bar - 1:.1f}' fill='{s.colour}'/>"
            for j, s in enumerate(series)
            if s.values[i]
        )
        parts.append(
            f"<g><title>{escape(tip)}</title><text x='{left - 5:.1f}' y='{y + band / 2:.1f}' "
            f"text-anchor='end'>{escape(shown)}</text>{rects}</g>"
        )
    parts.append(f"<line class='a' x1='{left:.1f}' x2='{left:.1f}' y1='{top}' y2='{bottom}'/>")
    title = y_title if len(y_title) <= 52 else y_title[:51] + "\u2026"
    parts.append(f"<text class='title' x='4' y='{_TOP + 2}'>{escape(title)}</text>")
    parts.append(_x_title(x_title, left, right, height - 5))
    return _svg(width, height, label, "".join(parts))


def time_lines(
    series: Sequence[tuple[str, Sequence[tuple[float, float]], str]],
    *,
    label: str,
    y_title: str,
    thresholds: Sequence[float] = (),
    marks: Sequence[tuple[float, float]] = (),
    span: tuple[float, float] | None = None,
) -> Html:
    """Lines of (time ms, value) points over a time axis with dated ticks (UTC); dashed red
    lines at ``thresholds``; red rings around the points in ``marks``. ``span`` fixes the
    time axis (so that charts side by side line up); by default it fits the points."""
    points = [p for _, values, _ in series for p in values]
    if not points:
        return Html("<p class='none'>no values yet</p>")
    xs = [p[0] for p in points]
    x0, x1 = span if span is not None else (min(xs), max(xs))
    if x1 - x0 < HOUR:  # one point, or a few close together: an hour around them
        middle = (x0 + x1) / 2
        x0, x1 = middle - HOUR / 2, middle + HOUR / 2
    ys = [p[1] for p in points] + list(thresholds)
    y_ticks = nice_ticks(min(ys), max(ys), 4)
    y_step = y_ticks[1] - y_ticks[0]
    size = max(abs(y_ticks[0]), abs(y_ticks[-1]))
    width, height = LINE_WIDTH, 236
    left, right, top, bottom = 62, width - _RIGHT - 8, _TOP, height - 58

    def sx(x: float) -> float:
        return left + (right - left) * (x - x0) / (x1 - x0)

    def sy(y: float) -> float:
        return bottom - (bottom - top) * (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0])

    parts = [
        _y_axis(
            y_ticks, lambda v: number(v, y_step, size=size), sy, left, right, y_title, top, bottom
        ),
        f"<line class='a' x1='{left}' x2='{right}' y1='{bottom}' y2='{bottom}'/>",
    ]
    for ms, first, second in time_ticks(x0, x1, 5):
        x = sx(ms)
        parts.append(_x_tick(x, bottom, first, second, _anchor(x, left, right)))
    parts.append(_x_title("time (UTC)", left, right, height - 5))
    for limit in thresholds:
        y = sy(limit)
        parts.append(
            f"<line x1='{left}' x2='{right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#c62828' "
            f"stroke-dasharray='5 3'><title>threshold {limit:g}</title></line>"
        )
    for name, values, colour in series:
        ordered = sorted(values)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)
        parts.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'>"
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.extend(
            f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2.5' fill='{colour}'>"
            f"<title>{escape(name)}, {when(x)}: {y:.4g}</title></circle>"
            for x, y in ordered
        )
    parts.extend(
        f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='5' fill='none' stroke='#c62828'/>"
        for x, y in marks
    )
    return _svg(width, height, label, "".join(parts))
