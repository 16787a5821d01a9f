"""A dataset profile as one self-contained HTML page (inline CSS and SVG, no scripts): an
overview first (rows, columns, missing cells, types, warnings), a table of every column, then
each column's statistics and its distribution on labelled axes (a histogram over value bins,
or the most frequent values). Built from the profile alone: it never reads rows."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from modelyard.htmlpage.charts import Series, categories, histogram
from modelyard.htmlpage.shell import Html, escape, facts, overview, page, table
from modelyard.htmlpage.ticks import epoch_ms, number, when

if TYPE_CHECKING:
    from modelyard.data.profiling import ColumnProfile, Profile

BAR = "#3a6ea5"
TOP_CHARTED = 10  # most frequent values drawn; the rest as one "(other)" bar
FEW_INTEGERS = 20  # an integer column with at most this many values: a bar per value
MISSING_WARN = 0.05  # a column missing more than this share of its values gets a warning
_TIME = ("timestamp", "date")


def warnings(profile: Profile) -> list[tuple[str, str]]:
    """(column, what a reader should know) for the columns that look wrong or unusual."""
    found = []
    for col in profile.columns.values():
        if col.count and col.missing == col.count:
            found.append((col.name, "every value is missing"))
            continue
        if col.missing_rate > MISSING_WARN:
            found.append((col.name, f"{col.missing_rate:.1%} of values are missing"))
        if col.present and col.distinct == 1:
            found.append((col.name, "a single value in every row (constant)"))
        if col.infinite:
            found.append((col.name, f"{col.infinite:,} infinite values"))
        if col.type == "string" and col.present > 50 and col.distinct >= 0.95 * col.present:
            found.append((col.name, "nearly every value is distinct (an identifier?)"))
    return found


def _distinct(col: ColumnProfile) -> str:
    """Distinct values; an estimate says so, and never exceeds the values there are."""
    if col.distinct_exact:
        return f"{col.distinct:,}"
    return f"about {min(col.distinct, col.present):,}"


def _stat(value: Any, col: ColumnProfile) -> str:
    if col.unit is not None and isinstance(value, int | float):
        return when(epoch_ms(value, col.unit))
    return f"{value:.6g}" if isinstance(value, float) else f"{value:,}"


def _stats(col: ColumnProfile, d: dict[str, Any]) -> list[tuple[str, str]]:
    stats = [
        ("missing", f"{d['missing']:,} ({d['missing_rate']:.2%})"),
        ("distinct", _distinct(col)),
    ]
    for key in ("min", "max", "mean", "std", "min_length", "max_length"):
        text = d.get(f"{key}_text")
        if text is not None:
            stats.append((key, text))
        elif d[key] is not None and not (col.type in _TIME and key in ("mean", "std")):
            stats.append((key, _stat(d[key], col)))
    return stats


def _chart(col: ColumnProfile, d: dict[str, Any]) -> str:
    edges, counts = d["histogram"]["edges"], d["histogram"]["counts"]
    if col.type in _TIME:
        # the value sketch keeps ~0.8% relative error: for a count of days or nanoseconds
        # since 1970 that is months, so its bins (and percentiles) would mislead
        return "<p class='muted'>Dates are summarised by their range.</p>"
    if col.type == "integer" and col.values and len(col.values) <= FEW_INTEGERS:
        ordered = sorted(col.values.items(), key=lambda kv: int(kv[0]))
        return categories(
            [value for value, _ in ordered],
            [Series("share of rows", [n / col.present for _, n in ordered], BAR)],
            label=f"{col.name}: share of non-missing rows per value",
            x_title="share of non-missing rows (%)",
            y_title=f"value of {col.name}",
        )
    if counts:
        bins = len(counts)
        step = (edges[-1] - edges[0]) / bins
        width = number(step, step, exact=False)
        return histogram(
            edges,
            [Series("rows", counts, BAR)],
            label=f"{col.name}: rows in {bins} bins of width {width}",
            x_title=f"{_short(col.name)} ({bins} bins of {width})",
            y_title="rows",
            shares=False,
        )
    top = col.top()[:TOP_CHARTED]
    if not top or not col.present:
        return ""
    names = [value for value, _ in top]
    shares = [count / col.present for _, count in top]
    if col.distinct > len(top):
        names.append("(other)")
        shares.append(max(0.0, 1 - sum(shares)))
    return categories(
        names,
        [Series("share of rows", shares, BAR)],
        label=f"{col.name}: share of non-missing rows per value, most frequent first",
        x_title="share of non-missing rows (%)",
        y_title=f"value of {col.name}",
    )


def _short(name: str, most: int = 24) -> str:
    return name if len(name) <= most else name[: most - 1] + "\u2026"


def _card(col: ColumnProfile, d: dict[str, Any], notes: list[str]) -> str:
    warn = "".join(f"<p class='warn'>{escape(n)}</p>" for n in notes)
    quantiles = {} if col.type in _TIME else d["quantiles"]
    more = ""
    if quantiles:
        more = (
            "<details><summary>Percentiles</summary>"
            f"{facts((k, _stat(v, col)) for k, v in quantiles.items())}</details>"
        )
    return (
        f"<article class='card{' alert' if notes else ''}' id='col-{escape(col.name)}'>"
        f"<h3>{escape(col.name)} <span class='muted'>{escape(col.type)}</span></h3>{warn}"
        f"{_chart(col, d)}{facts(_stats(col, d))}{more}</article>"
    )


def profile_html(profile: Profile, title: str) -> str:
    columns = list(profile.columns.values())
    dicts = {c.name: c.to_dict() for c in columns}
    cells = profile.num_rows * len(columns)
    missing = sum(c.missing for c in columns)
    types = Counter(c.type for c in columns)
    found = warnings(profile)
    by_column: dict[str, list[str]] = {}
    for name, note in found:
        by_column.setdefault(name, []).append(note)
    type_text = ", ".join(f"{n} {t}" for t, n in types.most_common())
    parts = [
        f"<h1>{escape(title)}</h1>",
        overview(
            [
                (f"{profile.num_rows:,}", "rows", ""),
                (len(columns), "columns", ""),
                (
                    f"{missing:,}",
                    f"missing cells ({missing / cells if cells else 0:.1%})",
                    "",
                ),
                (type_text or "none", "column types", "text"),
                (len(found), "warnings", "alert" if found else "good"),
            ],
            "Profile overview",
        ),
    ]
    if found:
        items = "".join(
            f"<li><a href='#col-{escape(n)}'>{escape(n)}</a>: {escape(note)}</li>"
            for n, note in found
        )
        parts.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    rows = [
        (
            Html(f"<a href='#col-{escape(c.name)}'>{escape(c.name)}</a>"),
            c.type,
            f"{c.missing_rate:.1%}",
            _distinct(c),
            _range(dicts[c.name]),
        )
        for c in columns
    ]
    parts += [
        "<h2>Columns</h2>",
        table(
            ["column", "type", "missing", "distinct", "range"],
            rows,
            numeric={2, 3},
            label="columns",
            one_line=True,
        ),
        "<h2>Distributions</h2><div class='cards'>",
        *(_card(c, dicts[c.name], by_column.get(c.name, [])) for c in columns),
        "</div>",
    ]
    return page(title, "".join(parts))


def _range(d: dict[str, Any]) -> str:
    if d.get("min_text") is not None:
        return f"{d['min_text']} to {d['max_text']}"
    if d["min"] is not None and d["max"] is not None:
        return f"{d['min']:.6g} to {d['max']:.6g}"
    if d["min_length"] is not None:
        return f"length {d['min_length']} to {d['max_length']}"
    return ""
