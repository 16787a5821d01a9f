"""Charts over time as self-contained HTML (inline SVG, no scripts): a monitor's check values
run after run (the drift share, a metric) against their thresholds, and a performance
report's metrics window by window (one line per slice)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelyard.data.report_html import escape, page

if TYPE_CHECKING:
    from modelyard.monitoring.quality import PerformanceReport

COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")
_LIMIT = re.compile(r"([<>])\s*([-+0-9.eE]+)")


def _when(ms: float) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    thresholds: Sequence[float] = (),
    marks: Sequence[tuple[float, float]] = (),
    width: int = 560,
    height: int = 140,
) -> str:
    """Lines of (time ms, value) points; dashed threshold lines; red dots at ``marks``."""
    points = [p for values in series.values() for p in values]
    if not points:
        return "<p>no values yet</p>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + list(thresholds)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = 30

    def sx(x: float) -> float:
        return pad + (width - 2 * pad) * ((x - x0) / (x1 - x0) if x1 > x0 else 0.5)

    def sy(y: float) -> float:
        return height - pad / 2 - (height - pad) * (y - y0) / (y1 - y0)

    parts = []
    for limit in thresholds:
        parts.append(
            f"<line x1='{pad}' x2='{width - pad}' y1='{sy(limit):.1f}' y2='{sy(limit):.1f}' "
            f"stroke='#c62828' stroke-dasharray='4 3'><title>threshold {limit:g}</title></line>"
        )
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(values))
        parts.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{path}'>"
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.extend(
            f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2' fill='{colour}'>"
            f"<title>{escape(name)} {_when(x)}: {y:.4g}</title></circle>"
            for x, y in values
        )
    parts.extend(
        f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='4' fill='none' stroke='#c62828'/>"
        for x, y in marks
    )
    axis = (
        f"<text x='2' y='{sy(y1) + 4:.0f}' font-size='10'>{y1:.3g}</text>"
        f"<text x='2' y='{sy(y0):.0f}' font-size='10'>{y0:.3g}</text>"
        f"<text x='{pad}' y='{height - 1}' font-size='10'>{_when(x0)}</text>"
        f"<text x='{width - pad}' y='{height - 1}' font-size='10' text-anchor='end'>"
        f"{_when(x1)}</text>"
    )
    legend = ""
    if len(series) > 1:
        legend = "<br>" + " ".join(
            f"<span style='color:{COLOURS[i % len(COLOURS)]}'>&#9632;</span> {escape(n)}"
            for i, n in enumerate(series)
        )
    return (
        f"<svg width='{width}' height='{height}' role='img' aria-label='values over time'>"
        f"{axis}{''.join(parts)}</svg>{legend}"
    )


def history_html(name: str, runs: list[dict[str, Any]]) -> str:
    """A monitor's runs: per check, its value over time against its threshold (breaches
    circled), and a table of the runs."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for result in run.get("results", []):
            checks.setdefault(result["check"], []).append({**result, "at": run["window_end"]})
    body = [f"<h1>Monitor {escape(name)}</h1><p>{len(runs)} runs</p>"]
    for check, results in checks.items():
        valued = [r for r in results if r.get("value") is not None]
        limits = [float(m.group(2)) for m in _LIMIT.finditer(results[-1].get("threshold", ""))]
        marks = [(r["at"], r["value"]) for r in valued if r["outcome"] == "breached"]
        chart = line_chart(
            {check: [(r["at"], r["value"]) for r in valued]}, thresholds=limits, marks=marks
        )
        body.append(f"<h2>{escape(check)}</h2><p>alert when {escape(results[-1]['threshold'])}</p>")
        body.append(chart)
    body.append(
        "<h2>Runs</h2><table><tr><th>window end (UTC)</th><th>status</th><th>rows</th>"
        "<th>labelled</th><th>results</th></tr>"
    )
    for run in runs:
        cls = "fail" if run["status"] in ("breached", "error") else "ok"
        detail = run.get("error") or "; ".join(
            f"{r['check']} {r['outcome']}" for r in run.get("results", [])
        )
        body.append(
            f"<tr><td>{_when(run['window_end'])}</td><td class='{cls}'>{escape(run['status'])}"
            f"</td><td>{run['rows']:,}</td><td>{run['labeled']:,}</td><td>{escape(detail)}</td></tr>"
        )
    body.append("</table>")
    return page(f"Monitor {name}", "".join(body))


def performance_html(report: PerformanceReport, title: str) -> str:
    """Each metric of a performance report over its windows (a line per slice)."""
    windows = report.windows
    skip = {"window", "predictions", "labeled", report.by or ""}
    metrics = [k for k in (windows[0] if windows else {}) if k not in skip]
    overall = ", ".join(
        f"{k} {v:.4g}" for k, v in report.overall.items() if isinstance(v, int | float)
    )
    body = [
        f"<h1>{escape(title)}</h1><p>{escape(report.task)}, windows of "
        f"{escape(report.window)}{'' if not report.by else ', by ' + escape(report.by)}. "
        f"Overall: {escape(overall)}</p>"
    ]
    for metric in metrics:
        series: dict[str, list[tuple[float, float]]] = {}
        for row in windows:
            value = row.get(metric)
            if value is None or value != value:  # undefined for that window
                continue
            key = "all" if report.by is None else f"{report.by}={row.get(report.by)}"
            at = dt.datetime.fromisoformat(row["window"]).timestamp() * 1000
            series.setdefault(key, []).append((at, float(value)))
        body.append(f"<h2>{escape(metric)}</h2>{line_chart(series)}")
    return page(title, "".join(body))
