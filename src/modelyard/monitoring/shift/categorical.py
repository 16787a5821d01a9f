"""Drift tests for categorical columns, on the counts of each category in the reference and
the current sample (aligned: the union of the categories seen in either).

- ``chisquare``: Pearson's chi-square test of homogeneity on the 2 x k table of counts (both
  samples are samples: Evidently's goodness of fit to the reference's shares treats them as
  exact, and at equal sizes flags about 26% of same-distribution pairs at p < 0.05 instead
  of 5%). No continuity correction.
- ``z``: two-sided Z-test for two proportions, on the share of the first category (pooled
  variance); for columns of at most two categories. Both samples one and the same constant:
  p = 1.
- ``psi``, ``jensenshannon``, ``total_variation``: distances over the category shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelyard.monitoring.shift.binned import jensenshannon, psi, shares, total_variation

Counts = np.ndarray[Any, Any]
Result = tuple[float, float | None]


def chisquare(ref: Counts, cur: Counts) -> Result:
    from scipy import stats

    table = np.array([ref, cur], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]  # a category neither sample has
    if table.shape[1] < 2:
        return 0.0, 1.0  # one category on both sides: nothing can differ
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, table.shape[1] - 1))


def z(ref: Counts, cur: Counts) -> Result:
    from scipy import stats

    n1, n2 = float(np.sum(ref)), float(np.sum(cur))
    p1, p2 = float(ref[0]) / n1, float(cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:  # one value in both samples (the same one, by the pooling)
        return 0.0, 1.0
    statistic = (p1 - p2) / np.sqrt(variance)
    return float(statistic), float(2 * stats.norm.sf(abs(statistic)))


def psi_categorical(ref: Counts, cur: Counts) -> Result:
    return psi(*shares(ref, cur)), None


def jensenshannon_categorical(ref: Counts, cur: Counts) -> Result:
    return jensenshannon(*shares(ref, cur)), None


def total_variation_categorical(ref: Counts, cur: Counts) -> Result:
    return total_variation(*shares(ref, cur)), None
