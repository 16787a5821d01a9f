"""Drift tests for numeric columns, on sorted samples with missing values already removed.

Each returns ``(statistic, p_value)``; a distance has no p-value (``None``). The statistics
are computed here with numpy (and checked against scipy's reference implementations in
tests/unit/monitoring); scipy gives the distributions the p-values come from, and runs the
two k-sample tests (Anderson-Darling, Cramér-von Mises) whole.

- ``ks``: two-sample Kolmogorov-Smirnov, D = max |F_ref - F_cur|; p exact while both samples
  hold at most 10,000 values, asymptotic above (scipy's own rule).
- ``wasserstein``: the first Wasserstein distance divided by the reference's standard
  deviation (population), so the score is the same in any unit (``wasserstein_scale``:
  floored only at 1e-12 of the reference's magnitude, so a constant reference does not
  divide by zero; a moved all-zero reference is an infinite distance).
- ``psi``, ``jensenshannon``: on histograms (``binned``): Sturges bins over both samples when
  the reference has over 20 distinct values, one bin per value otherwise.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from modelyard.monitoring.shift.binned import binned, jensenshannon, psi

Floats = np.ndarray[Any, np.dtype[np.float64]]
Result = tuple[float, float | None]
EXACT_KS_MAX = 10_000  # scipy's limit for the exact two-sample distribution


def ks_statistic(a: Floats, b: Floats) -> float:
    """max |F_ref(x) - F_cur(x)| over every value of either (sorted) sample."""
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / len(a)
    fb = np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def ks(ref: Floats, cur: Floats) -> Result:
    from scipy import stats

    d = ks_statistic(ref, cur)
    n, m = len(ref), len(cur)
    if max(n, m) <= EXACT_KS_MAX:
        with warnings.catch_warnings():  # where the exact sum fails scipy goes asymptotic
            warnings.simplefilter("ignore", RuntimeWarning)
            p = stats.ks_2samp(ref, cur, method="exact").pvalue
    else:
        p = stats.kstwo.sf(d, np.round(n * m / (n + m)))
    return d, float(min(1.0, max(0.0, p)))


def wasserstein_distance(a: Floats, b: Floats) -> float:
    """The integral of |F_ref - F_cur| (the earth mover's distance of two sorted samples)."""
    points = np.sort(np.concatenate([a, b]), kind="stable")  # two sorted runs: a merge
    widths = np.diff(points)
    fa = np.searchsorted(a, points[:-1], side="right") / len(a)
    fb = np.searchsorted(b, points[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * widths))


RELATIVE_FLOOR = 1e-12  # of the reference's magnitude: the least spread a score divides by


def normed_wasserstein(
    distance: float, std: float, lo: float, hi: float, resolution: float = 0.0
) -> float:
    """``distance`` in units of the reference's spread: its standard deviation, floored at
    1e-12 of its magnitude (max |value|) so that a constant reference (std 0) gives a large
    finite score for a moved value, never a division by zero, and at the ``resolution`` the
    reference was kept at (a profile's sketch buckets). No absolute floor: a column measured
    in nanometres scores as the same column in metres would."""
    scale = max(std, RELATIVE_FLOOR * max(abs(lo), abs(hi)), resolution)
    if scale > 0:
        with np.errstate(over="ignore"):
            return float(np.float64(distance) / scale)
    return 0.0 if distance == 0 else math.inf  # an all-zero reference: any move is drift


def wasserstein(ref: Floats, cur: Floats) -> Result:
    distance = wasserstein_distance(ref, cur)
    return normed_wasserstein(distance, float(np.std(ref)), float(ref[0]), float(ref[-1])), None


def psi_numeric(ref: Floats, cur: Floats) -> Result:
    r, c = binned(ref, cur, numeric=True)
    return psi(r, c), None


def jensenshannon_numeric(ref: Floats, cur: Floats) -> Result:
    r, c = binned(ref, cur, numeric=True)
    return jensenshannon(r, c), None


def anderson(ref: Floats, cur: Floats) -> Result:
    """k-sample Anderson-Darling (scipy's, with its p-value capped to [0.001, 0.25])."""
    from scipy import stats

    with warnings.catch_warnings():  # "p-value capped": the cap is documented
        warnings.simplefilter("ignore")
        found = stats.anderson_ksamp([ref, cur])
    return float(found.statistic), float(found.pvalue)


def cramer_von_mises(ref: Floats, cur: Floats) -> Result:
    from scipy import stats

    found = stats.cramervonmises_2samp(ref, cur)
    return float(found.statistic), float(found.pvalue)
