"""Self-contained HTML for validation reports and profiles (inline CSS and SVG, no scripts).

Every value that came from data is escaped; a report can be opened from any CI artifact store.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.data.profiling import ColumnProfile, Profile
    from modelyard.data.validation import ValidationReport

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d9e2ec;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f8} .ok{color:#18794e;font-weight:600} .fail{color:#c62828;font-weight:600}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;color:#fff}
.badge.ok{background:#18794e} .badge.fail{background:#c62828} code{font-size:.85rem}
svg rect{fill:#4c78a8}
"""


def escape(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    return html.escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _rows_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    names = list(rows[0])
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(r.get(n))}</td>" for n in names) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def validation_html(report: ValidationReport, title: str) -> str:
    status = "ok" if report.ok else "fail"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p><span class='badge {status}'>{'PASSED' if report.ok else 'FAILED'}</span> "
        f"{len(report.results)} rules, {len(report.failures)} failed, "
        f"{report.num_rows:,} rows</p>",
        "<table><tr><th>rule</th><th>result</th><th>observed</th><th>expected</th>"
        "<th>failing rows</th></tr>",
    ]
    for r in report.results:
        cls = "ok" if r.ok else "fail"
        parts.append(
            f"<tr><td><code>{escape(r.label)}</code></td><td class='{cls}'>"
            f"{'pass' if r.ok else 'FAIL'}</td><td>{escape(r.observed)}</td>"
            f"<td>{escape(r.expected)}</td><td>{r.failing:,} / {r.checked:,}</td></tr>"
        )
    parts.append("</table>")
    for r in report.failures:
        if r.sample or r.message:
            parts.append(f"<h2>{escape(r.label)}</h2><p>{escape(r.message)}</p>")
            parts.append(_rows_table(r.sample))
    return page(title, "".join(parts))


def histogram_svg(edges: list[float], counts: list[int], width: int = 220, height: int = 60) -> str:
    if not counts:
        return ""
    top = max(counts) or 1
    bar = width / len(counts)
    rects = []
    for i, count in enumerate(counts):
        h = height * count / top
        lo, hi = edges[i], edges[i + 1]
        rects.append(
            f"<rect x='{i * bar:.1f}' y='{height - h:.1f}' width='{max(bar - 1, 1):.1f}' "
            f"height='{h:.1f}'><title>[{lo:.4g}, {hi:.4g}): {count:,}</title></rect>"
        )
    return (
        f"<svg width='{width}' height='{height}' role='img' aria-label='histogram'>"
        f"{''.join(rects)}</svg>"
    )


def _bars(top: list[tuple[str, int]], total: int) -> str:
    rows = []
    for value, count in top[:10]:
        share = count / total if total else 0.0
        rows.append(
            f"<tr><td>{escape(value)}</td><td>{count:,}</td><td><svg width='120' height='10'>"
            f"<rect width='{120 * share:.1f}' height='10'/></svg> {share:.1%}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _column(col: ColumnProfile) -> str:
    d = col.to_dict()
    stats = {
        "type": d["type"],
        "missing": f"{d['missing']:,} ({d['missing_rate']:.2%})",
        "distinct": f"{d['distinct']:,}{'' if d['distinct_exact'] else ' (approx.)'}",
    }
    for key in ("min", "max", "mean", "std", "min_length", "max_length"):
        text = d.get(f"{key}_text")
        if text is not None:
            stats[key] = text
        elif d[key] is not None:
            stats[key] = f"{d[key]:.6g}" if isinstance(d[key], float) else str(d[key])
    stats.update({k: f"{v:.6g}" for k, v in d["quantiles"].items()})
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in stats.items())
    chart = histogram_svg(d["histogram"]["edges"], d["histogram"]["counts"])
    if not chart and col.values:
        chart = _bars(col.top(), col.present)
    return f"<h2>{escape(col.name)}</h2><table>{table}</table>{chart}"


def profile_html(profile: Profile, title: str) -> str:
    body = [
        f"<h1>{escape(title)}</h1><p>{profile.num_rows:,} rows, {len(profile.columns)} columns</p>"
    ]
    body.extend(_column(col) for col in profile.columns.values())
    return page(title, "".join(body))
