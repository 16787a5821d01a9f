"""What drift needs to keep of a column when the data does not fit in memory: fine bins.

A numeric column of the reference becomes ``FINE_BINS`` bins between its quantiles, each
holding about the same share of the reference. The outer 1/4096 on each side is cut finer,
halving down to single values, since a skewed column's bins would be widest there. Beyond
both ends, ``TAIL_BINS`` bins grow geometrically, so current data that moved out of the
reference's range lands in them, not in one wide bin. The current data is counted into the
same bins, batch by batch (``locate`` finds the bins fast). Numbers tested as categories
(``plan``) keep exact counts per value, however many.

Within a bin, values are taken as spread evenly, so each sample's CDF is piecewise linear
between edges. Kolmogorov-Smirnov's D (which for such CDFs lies on an edge) and the
Wasserstein distance (the area between them) come out exactly for those CDFs, and within
about a bin's share of the exact figures. Histogram tests re-bin the same CDFs onto their
own (Sturges) edges. A numeric column with at most ``FEW`` distinct values keeps exact
counts per value instead, and a categorical column keeps counts per category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.monitoring.shift.locate import Locator

Array = np.ndarray[Any, Any]
FINE_BINS = 2048
TAIL_BINS = 80  # bins growing by a quarter octave each, beyond both ends of the reference
FEW = 20  # distinct values up to which a numeric column keeps exact counts per value


@dataclass
class NumericSummary:
    edges: Array  # increasing; the reference's quantiles
    counts: Array  # len(edges) + 1: below edges[0], between edges, above edges[-1]
    present: int = 0
    missing: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    values: dict[float, int] | None = field(default_factory=dict)  # while few distinct
    limit: int | None = FEW  # distinct values counted one by one at most (None: all of them)
    std: float = 0.0  # of the reference (population), for the normed Wasserstein distance
    resolution: float = 0.0  # the finest spread the reference resolves (a profile's buckets)
    locate: Locator | None = field(default=None, repr=False)  # edges -> bin, shared

    @classmethod
    def of_reference(
        cls, sorted_values: Array, missing: int, limit: int | None = FEW
    ) -> NumericSummary:
        summary = cls.of_weighted(sorted_values, None, missing)
        summary.values, summary.limit = {}, limit
        summary.present = 0
        summary.counts[:] = 0
        summary.add(sorted_values, 0)  # exact counts into the bins (and per value if few)
        summary.std = float(np.std(sorted_values)) if len(sorted_values) else 0.0
        return summary

    @classmethod
    def of_weighted(
        cls, points: Array, weights: Array | None, missing: int, std: float | None = None
    ) -> NumericSummary:
        """The bins of sorted ``points`` that each stand for ``weights`` values (a profile's
        sketch buckets), or for one each."""
        n = float(len(points) if weights is None else weights.sum())
        quantiles = edges = np.zeros(1)
        if len(points):
            tails = 2.0 ** -np.arange(12, max(12, int(np.log2(max(n, 1))) + 1))
            qs = np.concatenate([np.linspace(0, 1, FINE_BINS + 1), tails, 1 - tails])
            if weights is None:
                quantiles = np.unique(np.quantile(points, qs))
            else:
                cum = np.cumsum(weights)
                at = np.searchsorted(cum, qs * cum[-1], side="left").clip(0, len(points) - 1)
                quantiles = np.unique(np.concatenate([points[at], points[[0, -1]]]))
            lo, hi = float(quantiles[0]), float(quantiles[-1])
            step = (hi - lo) / FINE_BINS if hi > lo else max(abs(hi), 1.0) / FINE_BINS
            ladder = step * 2 ** (np.arange(TAIL_BINS) / 4)  # out to ~2**20 steps beyond
            edges = np.concatenate([lo - ladder[::-1], quantiles, hi + ladder])
        summary = cls(edges, np.zeros(len(edges) + 1, dtype=np.int64), values=None)
        summary.locate = Locator.for_quantiles(edges, quantiles)
        summary.missing = missing
        if len(points):
            where = summary.locate(points)
            counts = np.bincount(where, weights=weights, minlength=len(summary.counts))
            summary.counts = np.rint(counts).astype(np.int64)
            summary.present = int(summary.counts.sum())
            summary.lo, summary.hi = float(points[0]), float(points[-1])
        summary.std = float(std or 0.0)
        return summary

    def empty_like(self) -> NumericSummary:
        """A summary for the current data over the same bins (counting values one by one
        only when the reference had few)."""
        values: dict[float, int] | None = {} if self.values is not None else None
        return NumericSummary(
            self.edges, np.zeros_like(self.counts), values=values, limit=self.limit,
            locate=self.locate,
        )  # fmt: skip

    def add(self, values: Array, missing: int) -> None:
        """Count a batch of finite values (missing ones and infinities counted apart)."""
        self.missing += missing
        if len(values) == 0:
            return
        self.present += len(values)
        self.lo, self.hi = min(self.lo, float(values.min())), max(self.hi, float(values.max()))
        # bins are [e_i, e_i+1)
        if self.locate is not None:
            where = self.locate(values)
        else:
            where = np.searchsorted(self.edges, values, side="right")
        self.counts += np.bincount(where, minlength=len(self.counts))
        if self.values is not None:
            keys, counts = np.unique(values, return_counts=True)
            limit = np.inf if self.limit is None else self.limit
            if len(keys) > limit or len(set(keys.tolist()) | set(self.values)) > limit:
                self.values = None  # many values: the bins will do
            else:
                for k, c in zip(keys.tolist(), counts.tolist(), strict=True):
                    self.values[k] = self.values.get(k, 0) + c

    def cdf_points(self, lo: float, hi: float) -> tuple[Array, Array]:
        """x and F(x) at every edge, widened to [lo, hi] (the range of both samples)."""
        xs = np.concatenate([[min(lo, self.edges[0])], self.edges, [max(hi, self.edges[-1])]])
        cum = np.concatenate([[0], np.cumsum(self.counts)]) / max(self.present, 1)
        return xs, cum


@dataclass
class CategorySummary:
    counts: dict[str, int] = field(default_factory=dict)
    missing: int = 0

    def add(self, keys: list[Any], counts: list[int], missing: int) -> None:
        self.missing += missing
        for k, c in zip(keys, counts, strict=True):
            key = category_key(k)
            self.counts[key] = self.counts.get(key, 0) + int(c)

    @property
    def present(self) -> int:
        return sum(self.counts.values())


def category_key(value: Any) -> str:
    """A category as text, the same from a frame, a Parquet file or a data profile (which
    keeps booleans as "true"/"false")."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def aligned(ref: dict[Any, int], cur: dict[Any, int]) -> tuple[list[Any], Array, Array]:
    """Counts of both over the union of their keys (in order: numbers by value)."""
    try:
        keys = sorted(set(ref) | set(cur))
    except TypeError:  # keys of several kinds
        keys = sorted(set(ref) | set(cur), key=str)
    return (
        keys,
        np.array([ref.get(k, 0) for k in keys], dtype=np.float64),
        np.array([cur.get(k, 0) for k in keys], dtype=np.float64),
    )


def cdfs_on(a: NumericSummary, b: NumericSummary) -> tuple[Array, Array, Array]:
    """Both piecewise-linear CDFs on one grid of points (every edge of either, and both
    ranges)."""
    lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)
    xa, fa = a.cdf_points(lo, hi)
    xb, fb = b.cdf_points(lo, hi)
    grid = np.unique(np.concatenate([xa, xb]))
    return grid, _interp(grid, xa, fa), _interp(grid, xb, fb)


def _interp(grid: Array, xs: Array, fs: Array) -> Array:
    # repeated xs (an empty underflow bin at the minimum) keep the right-hand value
    keep = np.concatenate([xs[1:] != xs[:-1], [True]])
    found: Array = np.interp(grid, xs[keep], fs[keep], left=0.0, right=1.0)
    return found


def step_cdfs(a: dict[float, int], b: dict[float, int]) -> tuple[Array, Array, Array]:
    """Both exact step CDFs on the union of their values (for columns with few values)."""
    keys, ca, cb = aligned(a, b)
    return np.asarray(keys, dtype=np.float64), np.cumsum(ca) / ca.sum(), np.cumsum(cb) / cb.sum()


def wasserstein_steps(xs: Array, fa: Array, fb: Array) -> float:
    return float(np.sum(np.abs(fa - fb)[:-1] * np.diff(xs)))


def ks_binned(grid: Array, fa: Array, fb: Array) -> float:
    return float(np.max(np.abs(fa - fb)))


def wasserstein_binned(grid: Array, fa: Array, fb: Array) -> float:
    """The area between two piecewise-linear CDFs (exact for them: where the gap changes sign
    within a segment, the two triangles are counted apart)."""
    d0, d1, w = (fa - fb)[:-1], (fa - fb)[1:], np.diff(grid)
    same = np.sign(d0) * np.sign(d1) >= 0
    area = np.where(
        same,
        w * (np.abs(d0) + np.abs(d1)) / 2,
        w * (d0**2 + d1**2) / (2 * np.maximum(np.abs(d0) + np.abs(d1), 1e-300)),
    )
    return float(area.sum())


def shares_on(edges: Array, grid: Array, f: Array) -> Array:
    """The share of a sample in each of ``edges``' bins, from its CDF on ``grid``."""
    return np.diff(np.interp(edges, grid, f, left=0.0, right=1.0))
