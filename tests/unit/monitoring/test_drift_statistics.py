"""Every drift statistic agrees with scipy's reference implementation on random samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import spatial, stats

from modelyard.monitoring.shift import binned, categorical, numeric

# values on a coarse grid, so that ties (the hard case for the CDF-based statistics) occur
values = st.lists(st.integers(-50, 50).map(lambda i: i / 4), min_size=1, max_size=300).map(
    lambda v: np.sort(np.array(v, dtype=np.float64))
)
counts = st.integers(2, 8).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(1, 500), min_size=k, max_size=k),
        st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(lambda c: sum(c) > 0),
    )
)


@settings(max_examples=150, deadline=None)
@given(values, values)
def test_kolmogorov_smirnov_matches_scipy(a: np.ndarray, b: np.ndarray) -> None:
    statistic, p = numeric.ks(a, b)
    expected = stats.ks_2samp(a, b)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-12)


def test_kolmogorov_smirnov_uses_the_asymptotic_p_value_for_large_samples() -> None:
    rng = np.random.default_rng(3)
    a, b = np.sort(rng.normal(0, 1, 20_000)), np.sort(rng.normal(0.02, 1, 15_000))
    statistic, p = numeric.ks(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(values, values)
def test_wasserstein_matches_scipy_and_is_normed_by_the_reference_spread(
    a: np.ndarray, b: np.ndarray
) -> None:
    assert numeric.wasserstein_distance(a, b) == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12
    )
    normed, p = numeric.wasserstein(a, b)
    assert p is None
    distance, magnitude = stats.wasserstein_distance(a, b), np.abs(a).max()
    if np.std(a) > 0:  # in units of the reference's spread
        assert normed == pytest.approx(distance / np.std(a), rel=1e-9, abs=1e-12)
    elif magnitude > 0:  # a constant: 1e-12 of its magnitude
        assert normed == pytest.approx(distance / (1e-12 * magnitude), rel=1e-9, abs=1e-12)
    else:  # all zeros: any move is infinitely far
        assert normed == (np.inf if distance > 0 else 0.0)


@settings(max_examples=100, deadline=None)
@given(counts)
def test_chisquare_matches_scipy(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = np.array(pair[0]), np.array(pair[1])
    statistic, p = categorical.chisquare(ref, cur)
    table = np.array([ref, cur])
    expected = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-12)


def test_a_category_the_reference_never_had_is_drift() -> None:
    _, p = categorical.chisquare(np.array([100, 100, 0]), np.array([100, 100, 30]))
    assert p < 0.001
    assert categorical.chisquare(np.array([5]), np.array([9])) == (0.0, 1.0)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 400), st.integers(1, 400), st.integers(0, 400), st.integers(1, 400))
def test_z_test_matches_statsmodels_formula_via_scipy(
    x1: int, extra1: int, x2: int, extra2: int
) -> None:
    n1, n2 = x1 + extra1, x2 + extra2
    statistic, p = categorical.z(np.array([x1, n1 - x1]), np.array([x2, n2 - x2]))
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        assert p == 1.0
        return
    z = (x1 / n1 - x2 / n2) / se
    assert statistic == pytest.approx(z, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(counts)
def test_jensen_shannon_matches_scipy(pair: tuple[list[int], list[int]]) -> None:
    r, c = binned.shares(pair[0], pair[1])
    assert binned.jensenshannon(r, c) == pytest.approx(
        spatial.distance.jensenshannon(r, c), rel=1e-9, abs=1e-9
    )


@settings(max_examples=100, deadline=None)
@given(counts)
def test_psi_is_the_symmetric_kullback_leibler_divergence_and_tv_half_the_l1(
    pair: tuple[list[int], list[int]],
) -> None:
    r, c = binned.shares(pair[0], pair[1])
    assert binned.total_variation(r, c) == pytest.approx(0.5 * np.abs(r - c).sum(), rel=1e-9)
    if (r == 0).any() or (c == 0).any():
        return  # an empty bin is filled (below)
    expected = stats.entropy(r, c) + stats.entropy(c, r)
    assert binned.psi(r, c) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_psi_fills_empty_bins_without_an_infinity() -> None:
    score = binned.psi(np.array([0.5, 0.5, 0.0]), np.array([0.4, 0.4, 0.2]))
    assert np.isfinite(score) and score > 0.1


@settings(max_examples=25, deadline=None)
@given(values.filter(lambda v: len(v) >= 5), values.filter(lambda v: len(v) >= 5))
def test_anderson_darling_and_cramer_von_mises_are_scipys(a: np.ndarray, b: np.ndarray) -> None:
    if len(np.unique(np.concatenate([a, b]))) < 2:
        return  # scipy's Anderson-Darling needs two distinct values
    statistic, p = numeric.cramer_von_mises(a, b)
    assert p == pytest.approx(stats.cramervonmises_2samp(a, b).pvalue, rel=1e-9)
    statistic, p = numeric.anderson(a, b)
    assert statistic == pytest.approx(stats.anderson_ksamp([a, b]).statistic, rel=1e-9)
