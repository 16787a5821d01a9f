"""The fast bin lookup gives exactly np.searchsorted's answers."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from modelyard.monitoring.shift.locate import Locator

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@example(edges=[3.6358173928203637e-50, 4.8184643488607616e-241, -1.0], values=[0.0])
@given(
    st.lists(finite, min_size=2, max_size=300, unique=True),
    st.lists(finite, min_size=1, max_size=300),
)
def test_locator_matches_searchsorted(edges: list[float], values: list[float]) -> None:
    e = np.sort(np.array(edges))
    x = np.array(values + edges)  # values on the edges themselves too
    lo, hi = e[len(e) // 10], e[-1 - len(e) // 10]
    found = Locator(e, lo, hi)(x)
    assert found.tolist() == np.searchsorted(e, x, side="right").tolist()


def test_quantile_edges_of_skewed_data_take_the_fast_path() -> None:
    rng = np.random.default_rng(0)
    data = rng.lognormal(0, 1.5, 200_000)
    edges = np.unique(np.quantile(data, np.linspace(0, 1, 2049)))
    locate = Locator.for_quantiles(edges, edges)
    x = rng.lognormal(0.3, 1.5, 100_000)
    assert locate.steps <= 8  # not the searchsorted fallback
    assert np.array_equal(locate(x), np.searchsorted(edges, x, side="right"))


def test_a_narrow_range_at_a_large_magnitude_gives_searchsorteds_answers() -> None:
    rng = np.random.default_rng(1)
    edges = np.sort(1.7e9 + rng.random(2000) * 1e-3)  # epoch seconds as floats, 1 ms apart
    x = 1.7e9 + rng.random(10_000) * 1e-3
    locate = Locator.for_quantiles(edges, edges)
    assert np.array_equal(locate(x), np.searchsorted(edges, x, side="right"))
