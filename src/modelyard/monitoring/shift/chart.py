"""The bars of a column's chart in a drift report, the same for every source: numbers in
``CHART_BINS`` equal-width bins over both samples' range, categories by the
``CHART_CATEGORIES`` most frequent and the rest as "(other)". How each sample's share of a
bin is found (exact values or bins) is the caller's."""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
CHART_BINS = 20  # bars per numeric column in a report's chart
CHART_CATEGORIES = 10  # categories shown per categorical column; the rest are "(other)"


def numeric_edges(lo: float, hi: float) -> Array:
    edges: Array = np.linspace(lo, hi if hi > lo else lo + 1, CHART_BINS + 1)
    return edges


def category_chart(labels: Any, ref_counts: Array, cur_counts: Array) -> dict[str, Any]:
    """Both samples' shares of the most frequent categories (``labels`` in the counts'
    order; ties keep that order)."""
    ra = np.asarray(ref_counts, dtype=np.float64) / np.sum(ref_counts)
    rb = np.asarray(cur_counts, dtype=np.float64) / np.sum(cur_counts)
    top = np.argsort(-(ra + rb), kind="stable")[:CHART_CATEGORIES]
    names = [label(labels[i]) for i in top]
    ref_shares, cur_shares = ra[top].tolist(), rb[top].tolist()
    if len(labels) > CHART_CATEGORIES:
        names.append("(other)")
        ref_shares.append(max(0.0, 1 - sum(ref_shares)))
        cur_shares.append(max(0.0, 1 - sum(cur_shares)))
    return {"labels": names, "reference": ref_shares, "current": cur_shares}


def label(value: Any) -> str:
    """A category's label; a whole number counted as a float is shown as the integer."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
