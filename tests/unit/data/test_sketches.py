"""Sketches merge exactly and estimate within their stated error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.data.sketches import HyperLogLog, ValueSketch, bucket_keys, mix64
from modelyard.errors import InvalidArgument

floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.lists(floats, min_size=1, max_size=300), st.lists(floats, min_size=1, max_size=300))
def test_value_sketch_of_union_is_merge_of_sketches(a: list[float], b: list[float]) -> None:
    whole = ValueSketch()
    whole.update(np.array(a + b))
    left, right = ValueSketch(), ValueSketch()
    left.update(np.array(a))
    right.update(np.array(b))
    merged = left.merge(right)
    assert merged.keys.tolist() == whole.keys.tolist()
    assert merged.counts.tolist() == whole.counts.tolist()
    assert merged.total == len(a) + len(b)


@settings(max_examples=60, deadline=None)
@given(st.lists(floats, min_size=2, max_size=200))
def test_bucket_keys_preserve_order(values: list[float]) -> None:
    arr = np.array(sorted(values))
    keys = bucket_keys(arr)
    assert (np.diff(keys) >= 0).all()


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(50, 10, 200_000),
        np.random.default_rng(2).lognormal(0, 2, 200_000),
        np.random.default_rng(3).normal(0, 1, 200_000),  # both signs, many tiny values
    ],
    ids=["normal", "lognormal", "centered"],
)
def test_quantiles_within_one_percent(values: np.ndarray) -> None:
    sketch = ValueSketch()
    sketch.update(values)
    qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    got = sketch.quantiles(qs, float(values.min()), float(values.max()))
    want = np.quantile(values, qs)
    for g, w in zip(got, want, strict=True):
        assert abs(g - w) <= 0.01 * abs(w) + 1e-9, (g, w)


def test_histogram_counts_every_value() -> None:
    values = np.random.default_rng(4).uniform(0, 100, 50_000)
    sketch = ValueSketch()
    sketch.update(values)
    edges, counts = sketch.histogram(10, 0.0, 100.0)
    assert len(edges) == 11 and sum(counts) == values.size
    exact, _ = np.histogram(values, bins=np.linspace(0, 100, 11))
    assert np.allclose(counts, exact, rtol=0.05)


@pytest.mark.parametrize("n", [10, 1_000, 50_000, 1_000_000])
@pytest.mark.parametrize("kind", ["sequential", "random"])
def test_hyperloglog_estimates_within_five_percent(n: int, kind: str) -> None:
    if kind == "sequential":
        values = np.arange(n, dtype=np.int64)
    else:
        values = np.random.default_rng(n).integers(0, 2**62, n)
    hll = HyperLogLog()
    hll.update_hashes(mix64(values.view(np.uint64)))
    hll.update_hashes(mix64(values[: n // 2].view(np.uint64)))  # repeats change nothing
    assert abs(hll.estimate() - n) <= max(1, 0.05 * n), hll.estimate()


def test_hyperloglog_merge_is_union_and_round_trips() -> None:
    a, b = HyperLogLog(), HyperLogLog()
    a.update_hashes(mix64(np.arange(0, 60_000, dtype=np.uint64)))
    b.update_hashes(mix64(np.arange(40_000, 100_000, dtype=np.uint64)))
    union = a.merge(b)
    assert abs(union.estimate() - 100_000) <= 5_000
    again = HyperLogLog.from_dict(union.to_dict())
    assert again.estimate() == union.estimate()
    assert ValueSketch.from_dict(ValueSketch().to_dict()).total == 0


def test_sketch_state_from_another_configuration_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="mantissa_bits"):
        ValueSketch.from_dict({"mantissa_bits": 3, "keys": [], "counts": []})
    with pytest.raises(InvalidArgument, match="p="):
        HyperLogLog.from_dict({"p": 4, "registers": ""})


def test_hyperloglog_on_float_bit_patterns() -> None:
    values = np.random.default_rng(9).normal(3, 2, 1_000_000)
    hll = HyperLogLog()
    for start in range(0, values.size, 65_536):
        hll.update_hashes(mix64(values[start : start + 65_536].view(np.uint64)))
    assert abs(hll.estimate() - values.size) <= 0.05 * values.size
