"""The parts every report page is built from: axis ticks a reader can use, tables without an
empty header, text from data escaped."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.htmlpage.charts import Series, categories, histogram, time_lines
from modelyard.htmlpage.shell import facts, page, table
from modelyard.htmlpage.ticks import DAY, HOUR, edge_labels, nice_ticks, number, time_ticks

JAN_1_2026 = 1_767_225_600_000
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(finite, finite)
def test_value_ticks_are_round_evenly_spaced_and_hold_the_range(a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    ticks = nice_ticks(lo, hi, 5)
    step = ticks[1] - ticks[0]
    assert ticks[0] <= lo + step * 1e-9 and ticks[-1] >= hi - step * 1e-9  # within rounding
    assert 2 <= len(ticks) <= 8
    steps = {round(y - x, 6) for x, y in itertools.pairwise(ticks)}
    assert max(steps) - min(steps) <= abs(step) * 1e-6 + 1e-6
    assert float(f"{step:.6e}".split("e")[0]) in (1.0, 2.0, 2.5, 5.0)  # a round step


@given(
    st.integers(JAN_1_2026 - 400 * DAY, JAN_1_2026 + 400 * DAY),
    st.integers(HOUR, 3 * 365 * DAY),
)
def test_time_ticks_fall_inside_the_axis_and_name_the_date(start: int, span: int) -> None:
    ticks = time_ticks(start, start + span, 5)
    assert 1 <= len(ticks) <= 5
    assert all(start <= ms <= start + span for ms, _, _ in ticks)
    assert [ms for ms, _, _ in ticks] == sorted(ms for ms, _, _ in ticks)
    assert ticks[0][2] or re.search(r"\d{4}", ticks[0][1])  # the first tick gives the year


def test_time_ticks_read_as_a_person_writes_times() -> None:
    hours = time_ticks(JAN_1_2026, JAN_1_2026 + 6 * HOUR, 5)
    assert [(a, b) for _, a, b in hours] == [
        ("00:00", "Jan 1, 2026"),
        ("02:00", ""),
        ("04:00", ""),
        ("06:00", ""),
    ]
    days = time_ticks(JAN_1_2026, JAN_1_2026 + 13 * DAY, 5)
    assert [a for _, a, _ in days] == ["Jan 1", "Jan 4", "Jan 7", "Jan 10", "Jan 13"]
    across = time_ticks(JAN_1_2026 - 12 * HOUR, JAN_1_2026 + 12 * HOUR, 5)
    assert ("00:00", "Jan 1, 2026") in [(a, b) for _, a, b in across]  # the date as it turns


def test_numbers_on_one_axis_share_one_notation() -> None:
    assert [number(v, 25_000, size=100_000) for v in (0, 25_000, 100_000)] == ["0", "25k", "100k"]
    assert [number(v, 7_560, exact=False, size=30_300) for v in (34, 7_594, 30_274)] == [
        "34",
        "7.6k",
        "30.3k",
    ]
    assert number(0.25, 0.05) == "0.25" and number(0.00012, 0.00001) == "0.00012"
    assert edge_labels(list(range(21)), 5) == [0, 5, 10, 15, 20]


def test_charts_have_axis_titles_tick_labels_and_escaped_names() -> None:
    svg = histogram(
        [0.0, 1.0, 2.0, 3.0],
        [Series("<b>ref</b>", [0.2, 0.5, 0.3], "#000"), Series("cur", [0.1, 0.6, 0.3], "#111")],
        label="x <script>",
        x_title="x (3 bins of 1)",
        y_title="share of rows (%)",
        shares=True,
    )
    assert svg.count("class='title'") == 2 and "<script>" not in svg and "&lt;b&gt;" in svg
    assert ">0%<" in svg and ">1<" in svg and "[1, 2): &lt;b&gt;ref&lt;/b&gt; 50.0%" in svg
    bars = categories(
        ["basic", "a value far too long to fit"],
        [Series("share", [0.7, 0.3], "#000")],
        label="plan",
        x_title="share of rows (%)",
        y_title="value of plan",
    )
    assert "a value far too\u2026" in bars and "<title>a value far too long to fit: share" in bars
    lines = time_lines(
        [("auc", [(JAN_1_2026, 0.8), (JAN_1_2026 + 2 * DAY, 0.6)], "#000")],
        label="auc",
        y_title="auc (0-1)",
        thresholds=[0.7],
        marks=[(JAN_1_2026 + 2 * DAY, 0.6)],
    )
    assert "Jan 1" in lines and "2026" in lines and "time (UTC)" in lines
    assert "threshold 0.7" in lines and lines.count("stroke='#c62828'/>") == 1


def test_tables_never_have_an_empty_header_or_cell() -> None:
    html = table(["a", "b"], [["x", None], ["", 1]])
    assert (
        "<th scope='col'>a</th>" in html and "<td>\u2013</td>" in html and "<td></td>" not in html
    )
    with pytest.raises(ValueError, match="every column needs a name"):
        table(["", "b"], [])
    assert "<thead>" not in facts([("rows", 3)]) and "<th scope='row'>rows</th>" in facts(
        [("rows", 3)]
    )
    doc = page("<t>", "<p>hi</p>")
    assert "name='viewport'" in doc and "<title>&lt;t&gt;</title>" in doc and "<script" not in doc
