"""Histogram distances (PSI, Jensen-Shannon, total variation) and how samples are binned.

A numeric column with over 20 distinct reference values gets Sturges bins over both samples
together; anything else one bin per value seen in either. Shares are counts over the sample
size. For PSI an empty bin's share becomes 0.0001 (or a millionth of the smallest non-zero
share when that is smaller), so the logarithm stays finite; Jensen-Shannon needs no such
fix. The Jensen-Shannon *distance* is reported (the square root of the divergence, natural
log: at most sqrt(ln 2) = 0.83), the same scale as Evidently's default, so thresholds carry
over.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
MANY_VALUES = 20  # above this many distinct reference values, a numeric column is binned


def binned(ref: Array, cur: Array, *, numeric: bool) -> tuple[Array, Array]:
    """The shares of both samples over common bins."""
    if numeric and len(np.unique(ref)) > MANY_VALUES:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0]
        c = np.histogram(cur, edges)[0]
    else:
        keys, inverse = np.unique(np.concatenate([ref, cur]), return_inverse=True)
        r = np.bincount(inverse[: len(ref)], minlength=len(keys))
        c = np.bincount(inverse[len(ref) :], minlength=len(keys))
    return r / len(ref), c / len(cur)


def shares(ref_counts: Array, cur_counts: Array) -> tuple[Array, Array]:
    """Counts over common categories as shares."""
    r = np.asarray(ref_counts, dtype=np.float64)
    c = np.asarray(cur_counts, dtype=np.float64)
    return r / r.sum(), c / c.sum()


def _no_zeros(p: Array) -> Array:
    nonzero = p[p > 0]
    low = float(nonzero.min()) if len(nonzero) else 1.0
    fill = low / 1e6 if low <= 0.0001 else 0.0001
    return np.where(p > 0, p, fill)


def psi(ref: Array, cur: Array) -> float:
    """Population stability index: sum (r - c) ln(r / c) over the bins."""
    r, c = _no_zeros(ref), _no_zeros(cur)
    return float(np.sum((r - c) * np.log(r / c)))


def jensenshannon(ref: Array, cur: Array) -> float:
    """sqrt((KL(r||m) + KL(c||m)) / 2) with m the mean of the two (natural log)."""
    r, c = ref / ref.sum(), cur / cur.sum()
    m = (r + c) / 2

    def kl(p: Array) -> float:
        keep = p > 0
        return float(np.sum(p[keep] * np.log(p[keep] / m[keep])))

    return float(np.sqrt(max(0.0, (kl(r) + kl(c)) / 2)))


def total_variation(ref: Array, cur: Array) -> float:
    """Half the sum of |r - c|: the largest difference in probability of any set of values."""
    return float(np.abs(ref / ref.sum() - cur / cur.sum()).sum() / 2)
