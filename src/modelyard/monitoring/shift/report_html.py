"""A drift report as one self-contained HTML page: an overview first (the dataset's verdict,
columns drifted of those compared, the method used per column), then a table of every
column's test and score with the drifted ones first, then each column's reference and current
shares side by side on labelled axes (inline SVG, no scripts). It summarises, never embeds
rows: a 100-column report is a few hundred KiB."""

from __future__ import annotations

from collections import Counter

from modelyard.htmlpage.charts import Series, categories, histogram
from modelyard.htmlpage.shell import Html, badge, escape, legend, overview, page, table
from modelyard.htmlpage.ticks import number
from modelyard.monitoring.shift.findings import ColumnDrift, DriftFindings
from modelyard.monitoring.shift.registry import TESTS

REFERENCE, CURRENT = "#3a6ea5", "#d9480f"  # blue and orange: apart for colour-blind readers
_KEY = legend([(REFERENCE, "reference", ""), (CURRENT, "current", "")])


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _method(col: ColumnDrift) -> str:
    test = TESTS.get(col.test or "")
    return test.title if test is not None else (col.test or "not tested")


def _rule(col: ColumnDrift) -> str:
    """When the column counts as drifted: "p < 0.05" for a p-value, "≥ 0.1" for a distance."""
    test = TESTS.get(col.test or "")
    if test is None or col.threshold is None:
        return ""
    return f"p < {col.threshold:g}" if test.p_value else f"\u2265 {col.threshold:g}"


def _score(col: ColumnDrift) -> str:
    test = TESTS.get(col.test or "")
    if col.score is None:
        return ""
    return f"p = {col.score:.3g}" if test is not None and test.p_value else _number(col.score)


def _short(name: str, most: int = 32) -> str:
    return name if len(name) <= most else name[: most - 1] + "\u2026"


def _chart(col: ColumnDrift) -> str:
    chart = col.chart
    if not chart:
        return ""
    series = [
        Series("reference", chart["reference"], REFERENCE),
        Series("current", chart["current"], CURRENT),
    ]
    if chart.get("labels"):
        return categories(
            [str(n) for n in chart["labels"]],
            series,
            label=f"{col.name}: share of rows per value, reference against current",
            x_title="share of rows (%)",
            y_title=f"value of {col.name}",
        )
    edges = chart["edges"]
    step = (edges[-1] - edges[0]) / max(len(edges) - 1, 1)
    return histogram(
        edges,
        series,
        label=f"{col.name}: share of rows in {len(edges) - 1} bins of width {step:.4g}, "
        "reference against current",
        x_title=_short(
            f"{col.name} ({len(edges) - 1} bins of {number(step, step, exact=False)})", 48
        ),
        y_title="share of rows (%)",
        shares=True,
    )


def _card(col: ColumnDrift) -> str:
    verdict = (
        "<span class='fail'>drift</span>" if col.drifted else "<span class='ok'>no drift</span>"
    )
    score = f" {_score(col)} (drifts at {_rule(col)})" if col.score is not None else ""
    missing = (
        f"missing {col.reference_missing:.1%} \u2192 {col.current_missing:.1%}"
        f"{' <span class=fail>(moved)</span>' if col.missing_drifted else ''}"
    )
    message = f"<p>{escape(col.message)}</p>" if col.message else ""
    chart = _chart(col)
    return (
        f"<article class='card{' alert' if col.drifted else ''}' id='c-{escape(col.name)}'>"
        f"<h3>{escape(col.name)} \u00b7 {verdict}</h3>"
        f"<p>{escape(col.kind)}; {escape(_method(col))}{escape(score)}</p>"
        f"<p class='muted'>{col.reference_rows:,} reference values, {col.current_rows:,} "
        f"current; {missing}</p>{message}{_KEY if chart else ''}{chart}</article>"
    )


def _methods(report: DriftFindings) -> str:
    """Which method tested how many columns, most used first."""
    used = Counter(_method(c) for c in report.columns)
    return "; ".join(
        f"{escape(m)} for {n} column{'s' if n != 1 else ''}" for m, n in used.most_common()
    )


def drift_html(report: DriftFindings, title: str) -> str:
    compared = len(report.columns) + len(report.only_in_reference)
    drifted = len(report.drifted_columns) + len(report.only_in_reference)
    verdict = "DRIFT" if report.drifted else "NO DRIFT"
    tiles: list[tuple[object, str, str]] = [
        (
            "dataset drift" if report.drifted else "no dataset drift",
            f"verdict (drift at {report.drift_share:.0%} of columns)",
            "alert" if report.drifted else "good",
        ),
        (
            f"{drifted} of {compared}",
            f"columns drifted ({report.share_drifted:.0%})",
            "alert" if drifted else "",
        ),
        (f"{report.reference_rows:,}", "reference rows", ""),
        (f"{report.current_rows:,}", "current rows", ""),
    ]
    if report.missing_drifted_columns:
        tiles.append((len(report.missing_drifted_columns), "missing share moved", "alert"))
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{badge(not report.drifted, verdict)} {drifted} of {compared} columns drifted "
        f"({report.share_drifted:.0%}; the dataset drifts at {report.drift_share:.0%}); "
        f"{report.reference_rows:,} reference rows, {report.current_rows:,} current rows.</p>",
        overview(tiles, "Drift overview"),
        f"<p><b>Method per column:</b> {_methods(report)}.</p>",
    ]
    if report.missing_drifted_columns:
        parts.append(
            "<p class='fail'>Missing values moved in: "
            f"{escape(', '.join(report.missing_drifted_columns))}</p>"
        )
    if report.multivariate is not None:
        joint = report.multivariate
        parts.append(
            f"<p class='{'fail' if joint.drifted else 'ok'}'>Multivariate: a classifier tells "
            f"current rows from reference rows with ROC AUC {joint.auc:.3f} (drift at "
            f"{joint.threshold:g}); strongest features: {escape(', '.join(joint.top_features))}</p>"
        )
    if report.only_in_reference or report.only_in_current:
        parts.append(
            f"<p class='fail'>Schema drift: missing now: "
            f"{escape(', '.join(report.only_in_reference) or 'none')}; new: "
            f"{escape(', '.join(report.only_in_current) or 'none')}</p>"
        )
    ordered = sorted(report.columns, key=lambda c: not c.drifted)
    rows = [
        (
            Html(f"<a href='#c-{escape(c.name)}'>{escape(c.name)}</a>"),
            Html("<span class='fail'>yes</span>" if c.drifted else "no"),
            _score(c),
            _rule(c),
            _method(c) if c.test else c.message,
            c.kind,
        )
        for c in ordered
    ]
    parts += [
        "<h2>Columns, drifted first</h2>",
        table(
            ["column", "drift", "score", "drifts at", "method", "kind"],
            rows,
            numeric={2},
            label="columns and their drift tests",
            one_line=True,
        ),
        "<h2>Reference and current distributions</h2>",
        "<div class='cards'>",
        *(_card(c) for c in ordered),
        "</div>",
    ]
    return page(title, "".join(parts))
