"""A drift report as one self-contained HTML page: the verdict, a table of every column's
test and score, and each column's reference and current shares overlaid (inline SVG, no
scripts). It summarises, never embeds rows: a 100-column report is a few hundred KiB."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.data.report_html import escape, page

if TYPE_CHECKING:
    from modelyard.monitoring.shift.report import ColumnDrift, DriftReport

REFERENCE, CURRENT = "#4c78a8", "#f58518"
_STYLE = (
    "<style>.bars rect.r{fill:"
    + REFERENCE
    + ";opacity:.55}.bars rect.c{fill:"
    + CURRENT
    + ";opacity:.55}.key{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem}"
    "</style>"
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}"


def _overlaid(chart: dict[str, Any], width: int = 360, height: int = 90) -> str:
    """Reference and current shares as two half-transparent bar series over one axis."""
    ref, cur = chart["reference"], chart["current"]
    top = max([*ref, *cur, 1e-12])
    names = chart.get("labels") or [
        f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(chart["edges"], chart["edges"][1:], strict=False)
    ]
    bar = width / len(ref)
    rects = []
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        tip = f"{escape(names[i])}: reference {r:.1%}, current {c:.1%}"
        x, w = f"{i * bar:.0f}", f"{max(bar - 1, 1):.0f}"
        bars = "".join(
            f"<rect class='{cls}' x='{x}' y='{height - height * share / top:.0f}' width='{w}' "
            f"height='{height * share / top:.0f}'/>"
            for cls, share in (("r", r), ("c", c))
        )
        rects.append(f"<g><title>{tip}</title>{bars}</g>")
    svg = (
        f"<svg class='bars' width='{width}' height='{height}' role='img' "
        f"aria-label='reference and current distribution'>{''.join(rects)}</svg>"
    )
    if chart.get("labels"):
        svg += "<br><small>" + escape(", ".join(names)) + "</small>"
    return svg


def _column(col: ColumnDrift) -> str:
    verdict = "fail" if col.drifted else "ok"
    score = ""
    if col.score is not None:
        score = f" score {_number(col.score)} (threshold {_number(col.threshold)})"
    facts = (
        f"{escape(col.kind)}; {escape(col.test or 'not tested')}{score}; "
        f"{col.reference_rows:,} / {col.current_rows:,} values, missing "
        f"{col.reference_missing:.1%} / {col.current_missing:.1%}"
        f"{' (moved)' if col.missing_drifted else ''}"
    )
    message = f"<p>{escape(col.message)}</p>" if col.message else ""
    chart = _overlaid(col.chart) if col.chart else ""
    return (
        f"<h2 id='c-{escape(col.name)}'>{escape(col.name)} "
        f"<span class='{verdict}'>{'drift' if col.drifted else 'no drift'}</span></h2>"
        f"<p>{facts}</p>{message}{chart}"
    )


def drift_html(report: DriftReport, title: str) -> str:
    status = "fail" if report.drifted else "ok"
    parts = [
        _STYLE,
        f"<h1>{escape(title)}</h1>",
        f"<p><span class='badge {status}'>{'DRIFT' if report.drifted else 'NO DRIFT'}</span> "
        f"{len(report.drifted_columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}; the dataset drifts at {report.drift_share:.0%}); "
        f"{report.reference_rows:,} reference rows, {report.current_rows:,} current rows. "
        f"<span class='key' style='background:{REFERENCE}'></span>reference"
        f"<span class='key' style='background:{CURRENT}'></span>current</p>",
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
    parts.append(
        "<table><tr><th>column</th><th>kind</th><th>test</th><th>score</th>"
        "<th>threshold</th><th>drift</th></tr>"
    )
    for col in sorted(report.columns, key=lambda c: not c.drifted):
        cls = "fail" if col.drifted else "ok"
        parts.append(
            f"<tr><td><a href='#c-{escape(col.name)}'>{escape(col.name)}</a></td>"
            f"<td>{escape(col.kind)}</td><td>{escape(col.test or col.message)}</td>"
            f"<td>{_number(col.score)}</td><td>{_number(col.threshold)}</td>"
            f"<td class='{cls}'>{'yes' if col.drifted else 'no'}</td></tr>"
        )
    parts.append("</table>")
    parts.extend(_column(col) for col in report.columns)
    return page(title, "".join(parts))
