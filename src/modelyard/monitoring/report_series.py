"""Charts over time as self-contained HTML (inline SVG, no scripts): a monitor's check values
run after run (the drift share, a metric) against their thresholds, and a performance
report's metrics window by window (one line per slice). Each page starts with an overview;
each chart has a dated time axis (UTC) and a value axis named with its unit."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from modelyard.htmlpage.charts import time_lines
from modelyard.htmlpage.shell import Html, escape, legend, overview, page, table
from modelyard.htmlpage.ticks import when

# dark enough to stand out on white (3:1 at least), told apart without red and green alone
COLOURS = ("#1f5f99", "#c55a11", "#2e7d32", "#8e24aa", "#00838f", "#6d4c41", "#ad1457", "#546e7a")
_LIMIT = re.compile(r"([<>])\s*([-+0-9.eE]+)")
_STATE = {"breached": "alert", "error": "alert", "passed": "good"}  # skipped: neither
UNITS = {  # what a metric's axis is measured in
    "accuracy": "0-1",
    "precision": "0-1",
    "recall": "0-1",
    "f1": "0-1",
    "roc_auc": "0-1",
    "log_loss": "nats",
    "calibration_error": "0-1",
    "label_coverage": "share",
    "mae": "label units",
    "rmse": "label units",
    "mape": "share of label",
    "r2": "at most 1",
    "auc": "0-1",
    "share_drifted": "share of columns",
}


def _titled(metric: str) -> str:
    """An axis title: the metric and its unit (a check's name ends with its metric)."""
    unit = UNITS.get(metric) or UNITS.get(metric.rpartition(".")[2])
    return f"{metric} ({unit})" if unit else metric


def _period(times: list[float], what: str) -> str:
    if not times:
        return ""
    first, last = when(min(times)), when(max(times))
    return f"{what} {first}" if first == last else f"{what} {first[:16]} to {last}"


def history_html(name: str, runs: list[dict[str, Any]]) -> str:
    """A monitor's runs: an overview, per check its value over time against its threshold
    (breaches circled), and a table of the runs (newest first, as given)."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for result in run.get("results", []):
            checks.setdefault(result["check"], []).append({**result, "at": run["window_end"]})
    breached = sum(run["status"] == "breached" for run in runs)
    errors = sum(run["status"] == "error" for run in runs)
    newest = max(runs, key=lambda r: r["window_end"]) if runs else None
    tiles: list[tuple[Any, str, str]] = [
        (len(runs), "runs", ""),
        (breached, "breached", "alert" if breached else "good"),
        (errors, "failed to run", "alert" if errors else ""),
    ]
    if newest is not None:
        tiles.append(
            (
                newest["status"],
                f"latest, window ending {when(newest['window_end'])}",
                _STATE.get(newest["status"], ""),
            )
        )
    body = [
        f"<h1>Monitor {escape(name)}</h1>",
        f"<p class='muted'>{escape(_period([r['window_end'] for r in runs], 'Windows ending'))}"
        "</p>",
        overview(tiles, "Monitor overview"),
        "<div class='cards'>",
    ]
    for check, results in checks.items():
        valued = [r for r in results if r.get("value") is not None]
        limits = [float(m.group(2)) for m in _LIMIT.finditer(results[-1].get("threshold", ""))]
        marks = [(r["at"], r["value"]) for r in valued if r["outcome"] == "breached"]
        chart = time_lines(
            [(check, [(r["at"], r["value"]) for r in valued], COLOURS[0])],
            label=f"{check} at the end of each window, against its threshold",
            y_title=_titled(check),
            thresholds=limits,
            marks=marks,
        )
        keys = [(COLOURS[0], check, "")]
        if limits:
            keys.append(("", "threshold", "line"))
        if marks:
            keys.append(("", "breached", "ring"))
        body.append(
            f"<article class='card'><h2>{escape(check)}</h2>"
            f"<p>alert when {escape(results[-1]['threshold'])}</p>{chart}{legend(keys)}</article>"
        )
    body.append("</div><h2>Runs, newest first</h2>")
    rows = []
    for run in runs:
        detail = run.get("error") or "; ".join(
            f"{r['check']} {r['outcome']}" for r in run.get("results", [])
        )
        cls = {"alert": "fail", "good": "ok"}.get(_STATE.get(run["status"], ""), "muted")
        status = Html(f"<span class='{cls}'>{escape(run['status'])}</span>")
        rows.append(
            (when(run["window_end"]), status, f"{run['rows']:,}", f"{run['labeled']:,}", detail)
        )
    head = ["window end", "status", "rows", "labelled", "results"]
    body.append(table(head, rows, numeric={2, 3}, label="runs", one_line=True))
    return page(f"Monitor {name}", "".join(body))


def performance_html(
    title: str,
    *,
    task: str,
    window: str,
    by: str | None,
    overall: dict[str, Any],
    windows: list[dict[str, Any]],
) -> str:
    """A ``PerformanceReport``'s page: an overview and the overall metrics, then each metric
    over its windows (a line per slice)."""
    skip = {"window", "predictions", "labeled", by or ""}
    metrics = [k for k in (windows[0] if windows else {}) if k not in skip]
    times = [dt.datetime.fromisoformat(row["window"]).timestamp() * 1000 for row in windows]
    slices = sorted({str(row.get(by)) for row in windows}) if by else []
    labelled, total = overall.get("labeled"), overall.get("predictions")
    tiles: list[tuple[Any, str, str]] = [
        (task, "task", ""),
        (len(set(times)), f"windows of {window}", ""),
    ]
    if isinstance(total, int):
        tiles.append((f"{total:,}", "predictions", ""))
    if isinstance(total, int) and isinstance(labelled, int):
        share = f" ({labelled / total:.0%})" if total else ""
        tiles.append((f"{labelled:,}", f"labelled{share}", "alert" if not labelled else ""))
    if by:
        tiles.append((len(slices), f"slices by {by}", ""))
    overall_rows = [
        (k, f"{v:,}" if isinstance(v, int) else f"{v:.4g}")
        for k, v in overall.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p class='muted'>{escape(_period(times, 'Windows starting'))}</p>",
        overview(tiles, "Performance overview"),
        "<h2>Overall</h2>",
        table(["metric", "value"], overall_rows, numeric={1}, label="overall metrics"),
        "<div class='cards'>",
    ]
    names = ["all"] if by is None else [f"{by}={s}" for s in slices]
    colour = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    for metric in metrics:
        series: dict[str, list[tuple[float, float]]] = {}
        for row, at in zip(windows, times, strict=True):
            value = row.get(metric)
            if value is None or value != value:  # undefined for that window
                continue
            key = "all" if by is None else f"{by}={row.get(by)}"
            series.setdefault(key, []).append((at, float(value)))
        chart = time_lines(
            [(k, v, colour.get(k, COLOURS[0])) for k, v in series.items()],
            label=f"{metric} per {window} window" + (f", a line per {by}" if by else ""),
            y_title=_titled(metric),
            span=(min(times), max(times)),
        )
        key = legend((colour.get(k, COLOURS[0]), k, "") for k in series) if by else ""
        body.append(f"<article class='card'><h2>{escape(metric)}</h2>{chart}{key}</article>")
    body.append("</div>")
    return page(title, "".join(body))
