"""The page every report is: one self-contained HTML file that reads at a phone's width as
well as a desktop's (no horizontal scrolling of the page: wide tables scroll in their own box,
charts shrink with their viewBox, long words wrap).

Every value that came from data goes through ``escape``; ``Html`` marks text that is already
markup, so helpers can take either without escaping twice.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

EMPTY = "\u2013"  # what an empty cell shows: never a blank cell a reader has to guess at

_CSS = """
*,::before,::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;
background:#fff;line-height:1.45;max-width:1180px;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.45rem;margin:.2rem 0 .5rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
h3{font-size:1rem;margin:0 0 .4rem}h1,h2,h3,p,li,dd,summary{overflow-wrap:anywhere}
td,th{overflow-wrap:break-word}table.facts td{overflow-wrap:anywhere}
a{color:#1f5f99}.muted{color:#52606d}.none{color:#52606d;font-style:italic}
.ok{color:#18794e;font-weight:600}.fail{color:#c62828;font-weight:600}
.warn{color:#8a4b00;font-weight:600}
.badge{display:inline-block;padding:.15rem .55rem;border-radius:.3rem;color:#fff;
font-weight:700;letter-spacing:.02em}
.badge.ok{background:#18794e;color:#fff}.badge.fail{background:#c62828;color:#fff}
.scroll{overflow-x:auto;max-width:100%;margin:.4rem 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #d9e2ec;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-weight:600}th[scope=row]{background:#f7f9fb}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.line td,table.line th{white-space:nowrap}
table.wrap1 td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:7rem}
.overview{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,10.5rem),1fr));
gap:.6rem;margin:.8rem 0 1rem;padding:0;list-style:none}
.overview li{border:1px solid #d9e2ec;border-radius:.4rem;padding:.5rem .7rem}
.overview b{display:block;font-size:1.25rem;line-height:1.2}
.overview span{color:#52606d;font-size:.85rem}
.overview li.alert{border-color:#c62828;border-width:2px}.overview li.alert b{color:#c62828}
.overview li.good b{color:#18794e}.overview li.text b{font-size:1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,21rem),1fr));
gap:1rem;margin:.6rem 0}
.card{border:1px solid #d9e2ec;border-radius:.4rem;padding:.75rem;min-width:0;margin:0 0 1rem}
.cards .card{margin:0}
.card.alert{border-left:4px solid #c62828}.card h2{font-size:1rem;margin:0 0 .4rem}
.card p{margin:.3rem 0;font-size:.9rem}
svg.chart{display:block;width:100%;height:auto;margin:.4rem 0}
svg.chart text{font-size:12px;fill:#52606d}svg.chart .title{fill:#1f2933}
svg.chart .g{stroke:#e4e7eb}svg.chart .a{stroke:#52606d}
@media (max-width:480px){svg.chart text{font-size:13px}}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.2rem 0 .6rem;padding:0;
list-style:none;font-size:.85rem}
.key{display:inline-block;width:.85rem;height:.85rem;border-radius:2px;margin-right:.3rem;
vertical-align:-.1rem}.key.line{height:0;border-top:2px dashed #c62828;border-radius:0}
.key.ring{border:2px solid #c62828;border-radius:50%;background:none}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600;padding:.3rem 0}
code{font-size:.85rem;overflow-wrap:anywhere;background:#f0f4f8;padding:0 .2rem;
border-radius:.2rem}
"""


class Html(str):
    """Text that is markup already: ``escape`` returns it as it is."""

    __slots__ = ()


def escape(value: Any) -> str:
    """``value`` as HTML text (dicts and lists as JSON); ``Html`` passes through."""
    if isinstance(value, Html):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    return html.escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    """A whole document: the viewport set for phones, the shared style, ``body`` as given."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def cell(value: Any) -> str:
    text = escape(value)
    return text if text.strip() else EMPTY


def table(
    head: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Collection[int] = (),
    row_classes: Sequence[str] | None = None,
    label: str | None = None,
    one_line: bool = False,
    name_first: bool = True,
) -> Html:
    """A table in its own scrolling box: a header row naming every column (``head`` must
    have no blank name), one row per item, ``EMPTY`` for a blank cell; the columns at the
    indexes in ``numeric`` align right. ``one_line`` keeps each row on one line (the box
    scrolls instead), for tables of short values that read badly wrapped; but for the first
    column when it holds names (``name_first``), which may wrap so the rest stays in view."""
    if any(not h.strip() for h in head):
        raise ValueError(f"every column needs a name: {list(head)}")
    th = "".join(f"<th scope='col'>{escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        cls = f" class='{row_classes[i]}'" if row_classes and row_classes[i] else ""
        tds = "".join(
            f"<td class='n'>{cell(v)}</td>" if j in numeric else f"<td>{cell(v)}</td>"
            for j, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    aria = f" role='region' aria-label='{escape(label)}' tabindex='0'" if label else ""
    cls = (" class='line wrap1'" if name_first else " class='line'") if one_line else ""
    return Html(
        f"<div class='scroll'{aria}><table{cls}><thead><tr>{th}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def facts(pairs: Iterable[tuple[str, Any]]) -> Html:
    """Name/value pairs as a two-column table whose names head their rows (no header row)."""
    rows = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{cell(v)}</td></tr>" for k, v in pairs)
    return Html(f"<div class='scroll'><table class='facts'><tbody>{rows}</tbody></table></div>")


def overview(items: Iterable[tuple[Any, str, str]], label: str = "Overview") -> Html:
    """The figures a reader wants first, as a grid of tiles: (value, what it is, state),
    the state '' or 'alert' (drawn in red) or 'good' (in green), or 'text' for a value
    that is words rather than a number (drawn smaller)."""
    tiles = "".join(
        f"<li{f' class={cls!r}' if cls else ''}><b>{escape(value)}</b>"
        f"<span>{escape(name)}</span></li>"
        for value, name, cls in items
    )
    return Html(
        f"<section id='overview' aria-label='{escape(label)}'><ul class='overview'>{tiles}</ul>"
        "</section>"
    )


def badge(ok: bool, text: str) -> Html:
    return Html(f"<span class='badge {'ok' if ok else 'fail'}'>{escape(text)}</span>")


def legend(items: Iterable[tuple[str, str, str]]) -> Html:
    """A chart's key: (colour, name, kind) with kind '' for a swatch, 'line' for a dashed
    threshold line, 'ring' for a circled point."""
    keys = "".join(
        f"<li><span class='key {kind}' style='background:{colour}' aria-hidden='true'></span>"
        f"{escape(name)}</li>"
        if not kind
        else f"<li><span class='key {kind}' aria-hidden='true'></span>{escape(name)}</li>"
        for colour, name, kind in items
    )
    return Html(f"<ul class='legend'>{keys}</ul>")
