"""A validation report as one self-contained HTML page (inline CSS, no scripts), failures
first: a summary (N of M rules failed), then each failing rule with what it saw, what it
expected and a sample of the rows that break it, then the passing rules collapsed.

Every value that came from data is escaped; a report can be opened from any CI artifact store.
"""

from __future__ import annotations

from typing import Any

from modelyard.data.rule_result import RuleResult
from modelyard.htmlpage.shell import Html, badge, escape, facts, overview, page, table

_NULL = Html("<i class='muted'>null</i>")


def _rows(r: RuleResult) -> str:
    if not r.checked:
        return ""
    share = f" ({r.failing / r.checked:.2%})" if r.failing else ""
    return f"{r.failing:,} of {r.checked:,}{share}"


def _sample(rows: list[dict[str, Any]], column: str | None) -> str:
    """The failing rows a rule found, every column they have, the rule's column first so
    the value that fails is in sight on a phone too (a missing value shows as null, so it
    is not mistaken for an empty string)."""
    if not rows:
        return ""
    names = list(rows[0])
    if column in names:
        names.remove(column)
        names.insert(0, column)
    return table(
        [str(n) if str(n).strip() else "(unnamed)" for n in names],
        ([_NULL if row.get(n) is None else row.get(n) for n in names] for row in rows),
        label="sample of failing rows",
        one_line=True,
        name_first=False,
    )


def _expected(value: Any) -> Any:
    """A rule's parameters as a reader says them: "min 0, max 100", "values basic, plus"."""
    if value is True:  # a rule without parameters: its name says what it expects
        return ""
    if not isinstance(value, dict):
        return value
    return "; ".join(
        f"{k} {', '.join(str(x) for x in v) if isinstance(v, list) else v}"
        for k, v in value.items()
    )


def _failure(r: RuleResult) -> str:
    details: list[tuple[str, Any]] = [("observed", r.observed)]
    if r.expected is not True:  # a rule without parameters: its name says what it expects
        details.append(("expected", _expected(r.expected)))
    if r.checked:
        details.append(("failing rows", _rows(r)))
    if r.message:
        details.append(("why", r.message))
    sample = ""
    if r.sample:
        sample = f"<p>{len(r.sample)} of the failing rows:</p>{_sample(r.sample, r.column)}"
    return (
        f"<article class='card alert'><h3><code>{escape(r.label)}</code> \u00b7 "
        f"<span class='fail'>failed</span></h3>{facts(details)}{sample}</article>"
    )


def validation_html(
    results: list[RuleResult], num_rows: int, columns: list[str], title: str
) -> str:
    """The page for a ``ValidationReport``'s results over ``num_rows`` rows of ``columns``."""
    failures = [r for r in results if not r.ok]
    passes = [r for r in results if r.ok]
    total = len(results)
    verdict = "FAILED" if failures else "PASSED"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{badge(not failures, verdict)} {len(failures)} of {total} rules failed; "
        f"{num_rows:,} rows, {len(columns)} columns.</p>",
        overview(
            [
                (f"{len(failures)} of {total}", "rules failed", "alert" if failures else "good"),
                (len(passes), "rules passed", ""),
                (f"{num_rows:,}", "rows checked", ""),
                (len(columns), "columns", ""),
            ],
            "Validation summary",
        ),
    ]
    if failures:
        parts.append(f"<h2 id='failed'>Failed rules ({len(failures)})</h2>")
        parts.extend(_failure(r) for r in failures)
    else:
        parts.append("<p class='ok'>Every rule passed.</p>")
    if passes:
        rows = [
            (Html(f"<code>{escape(r.label)}</code>"), r.observed, r.expected, _rows(r))
            for r in passes
        ]
        parts.append(
            f"<details id='passed'><summary>Passed rules ({len(passes)})</summary>"
            f"{table(['rule', 'observed', 'expected', 'failing rows'], rows, numeric={3})}"
            "</details>"
        )
    return page(title, "".join(parts))
