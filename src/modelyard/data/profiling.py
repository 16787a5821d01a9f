"""Column profiles: counts, moments, quantiles, histograms, distinct counts and top values.

A profile is built batch by batch from Arrow record batches (vectorized numpy/Arrow work per
batch, one pass, memory bounded by the batch size) and profiles merge: the profile of two
batches equals the merge of theirs. What a profile holds, how two merge and how one is stored
are in ``column_profiles``; this module builds them from Arrow data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.data.column_profiles import (
    TOP_EXACT,
    ColumnProfile,
    Profile,
    combine_moments,
    pick_defined,
)
from modelyard.data.sketches import ValueSketch, bucket_keys, mix64
from modelyard.data.types import NUMERIC, logical_type

__all__ = ["ColumnProfile", "Profile", "empty_profile", "profile_batches"]


# --- building ----------------------------------------------------------------------------
CHUNK = 1 << 16  # values per inner step: temporaries stay in the CPU cache


def _sketch_and_hash(col: ColumnProfile, values: np.ndarray[Any, Any], bits: Any) -> None:
    """Bucket keys for the value sketch and hashes for HyperLogLog, one cached chunk at a time."""
    assert col.sketch is not None
    keys = np.empty(values.size, dtype=np.int64)
    for start in range(0, values.size, CHUNK):
        part = values[start : start + CHUNK]
        keys[start : start + part.size] = bucket_keys(part)
        col.hll.update_hashes(mix64(bits(part, start)))
    col.sketch.add_keys(keys)


def _update_numeric(col: ColumnProfile, arr: pa.Array) -> None:
    arr = _plain_numbers(arr)
    nulls = arr.null_count
    if nulls:
        arr = pc.drop_null(arr)
    raw: np.ndarray[Any, Any] | None = None
    if pa.types.is_floating(arr.type):
        values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or +-inf somewhere: set them aside
            nan = np.isnan(values)
            finite = np.isfinite(values)
            col.missing += int(np.count_nonzero(nan))
            col.infinite += int(values.size - np.count_nonzero(nan) - np.count_nonzero(finite))
            values = values[finite]
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    else:
        raw = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)
        values = raw.astype(np.float64)
        lo, hi = (float(raw.min()), float(raw.max())) if raw.size else (0.0, 0.0)
    col.missing += nulls
    if not values.size:
        return
    col.min = lo if col.min is None else min(col.min, lo)
    col.max = hi if col.max is None else max(col.max, hi)
    mean = float(values.mean())
    dev = values - mean
    col.n_finite, col.mean, col.m2 = combine_moments(
        (col.n_finite, col.mean, col.m2), (values.size, mean, float(np.dot(dev, dev)))
    )
    del dev
    if raw is None:
        _sketch_and_hash(col, values, lambda part, _start: (part + 0.0).view(np.uint64))
    else:
        ints_raw = raw
        _sketch_and_hash(
            col, values, lambda part, start: ints_raw[start : start + part.size].view(np.uint64)
        )
    if col.values is not None:
        _count_small_numeric(col, values)


def _plain_numbers(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array of int64 or float64/float32 values: dictionary-encoded columns
    decoded, unsigned and half-precision values widened (uint64 to float64, exact to 2**53)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    kind = arr.type
    if pa.types.is_uint64(kind) or pa.types.is_float16(kind) or pa.types.is_decimal(kind):
        arr = arr.cast(pa.float64(), safe=False)  # beyond 2**53: nearest double
    elif pa.types.is_integer(kind) and not pa.types.is_int64(kind):
        arr = arr.cast(pa.int64())
    return arr


def _update_bounds(col: ColumnProfile, arr: pa.Array) -> None:
    """The lean numeric pass validation needs: missing, infinities, exact min and max."""
    arr = _plain_numbers(arr)
    nulls = arr.null_count
    col.missing += nulls
    col.values = None
    if len(arr) == nulls:
        return
    if pa.types.is_floating(arr.type):
        nan = int(pc.sum(pc.is_nan(arr)).as_py() or 0)
        col.missing += nan
        if nan == len(arr) - nulls:
            return
        lo, hi = pc.min_max(arr).values()
        low, high = lo.as_py(), hi.as_py()
        if math.isinf(low) or math.isinf(high):
            col.infinite += int(pc.sum(pc.is_inf(arr)).as_py() or 0)
            finite = pc.filter(arr, pc.is_finite(arr))
            if len(finite) == 0:
                return
            lo, hi = pc.min_max(finite).values()
            low, high = lo.as_py(), hi.as_py()
    else:
        lo, hi = pc.min_max(arr).values()
        low, high = float(lo.as_py()), float(hi.as_py())
    col.min = low if col.min is None else min(col.min, low)
    col.max = high if col.max is None else max(col.max, high)


def _count_small_numeric(col: ColumnProfile, values: np.ndarray[Any, Any]) -> None:
    """Exact value counts while a numeric column has few distinct values (codes, flags)."""
    assert col.values is not None
    if col.type == "integer" and col.max is not None and col.min is not None:
        lo, hi = values.min(), values.max()
        if hi - lo > 4 * TOP_EXACT * 1_000:  # sparse codes: count them like floats
            _count_by_sorting(col, values)
            return
        dense = np.bincount((values - lo).astype(np.intp))
        (present,) = np.nonzero(dense)
        if present.size > TOP_EXACT:
            col.values = None
            return
        uniq, counts = present + lo, dense[present]
        _add_counts(col, uniq, counts)
        return
    _count_by_sorting(col, values)


def _count_by_sorting(col: ColumnProfile, values: np.ndarray[Any, Any]) -> None:
    uniq, counts = np.unique(values[: TOP_EXACT * 20], return_counts=True)
    if uniq.size > TOP_EXACT:
        col.values = None
        return
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size > TOP_EXACT:
        col.values = None
        return
    _add_counts(col, uniq, counts)


def _add_counts(
    col: ColumnProfile, uniq: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> None:
    assert col.values is not None
    keys = [_number_key(v, col.type) for v in uniq.tolist()]
    merged = dict(col.values)
    for key, count in zip(keys, counts.tolist(), strict=True):
        merged[key] = merged.get(key, 0) + count
    col.values = merged if len(merged) <= TOP_EXACT else None


def _number_key(value: float, kind: str) -> str:
    return str(int(value)) if kind == "integer" else repr(float(value))


def _update_strings(col: ColumnProfile, arr: pa.Array) -> None:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    col.missing += arr.null_count
    if pa.types.is_null(arr.type) or len(arr) == arr.null_count:
        return
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    dictionary = arr.dictionary
    indices = arr.indices
    if indices.null_count:
        indices = pc.drop_null(indices)
    counts = np.bincount(
        np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.intp),
        minlength=len(dictionary),
    )
    used = np.nonzero(counts)[0]
    words = dictionary.take(pa.array(used))
    lengths = (
        pc.utf8_length(words) if not pa.types.is_binary(words.type) else pc.binary_length(words)
    )
    lo, hi = pc.min_max(lengths).values()
    col.min_length = pick_defined(min, col.min_length, lo.as_py())
    col.max_length = pick_defined(max, col.max_length, hi.as_py())
    texts = words.to_pylist()
    col.hll.update_hashes(mix64(np.asarray(pd.util.hash_array(np.asarray(texts, dtype=object)))))
    if col.values is not None:
        merged = dict(col.values)
        for text, count in zip(texts, counts[used].tolist(), strict=True):
            merged[text] = merged.get(text, 0) + count
        col.values = merged if len(merged) <= TOP_EXACT else None


def _update_boolean(col: ColumnProfile, arr: pa.Array) -> None:
    col.missing += arr.null_count
    trues = int(pc.sum(arr.cast(pa.int64())).as_py() or 0)
    falses = len(arr) - arr.null_count - trues
    assert col.values is not None
    for key, count in (("true", trues), ("false", falses)):
        if count:
            col.values[key] = col.values.get(key, 0) + count


def _update_temporal(col: ColumnProfile, arr: pa.Array) -> None:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    unit = pa.int64() if pa.types.is_timestamp(arr.type) or pa.types.is_date64(arr.type) else None
    ints = arr.cast(unit or pa.int32()).cast(pa.int64())
    col.missing += arr.null_count
    ints = pc.drop_null(ints) if arr.null_count else ints
    raw = np.asarray(ints.to_numpy(zero_copy_only=False))
    if raw.size:
        col.min = pick_defined(min, col.min, float(raw.min()))
        col.max = pick_defined(max, col.max, float(raw.max()))
        _sketch_and_hash(
            col,
            raw.astype(np.float64),
            lambda part, start: raw[start : start + part.size].view(np.uint64),
        )
        col.values = None


_UPDATERS = {
    "integer": _update_numeric,
    "float": _update_numeric,
    "string": _update_strings,
    "boolean": _update_boolean,
    "timestamp": _update_temporal,
    "date": _update_temporal,
}


def _value_type(kind: pa.DataType) -> pa.DataType:
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def empty_profile(schema: pa.Schema) -> Profile:
    cols = {}
    for fld in schema:
        kind = logical_type(fld.type, fld.name)
        col = ColumnProfile(fld.name, kind)
        if kind in NUMERIC or kind in ("timestamp", "date"):
            col.sketch = ValueSketch()
        if kind == "timestamp":
            col.unit = str(_value_type(fld.type).unit)
            col.zoned = _value_type(fld.type).tz is not None
        elif kind == "date":
            col.unit = "D" if pa.types.is_date32(_value_type(fld.type)) else "ms"
        cols[fld.name] = col
    return Profile(0, cols)


_LEAN = {**_UPDATERS, "integer": _update_bounds, "float": _update_bounds}


def _update(
    profile: Profile, batch: pa.RecordBatch, pool: ThreadPoolExecutor | None, lean: bool
) -> None:
    rows = batch.num_rows
    profile.num_rows += rows
    updaters = _LEAN if lean else _UPDATERS
    columns = list(profile.columns.values())

    def one(index: int) -> None:
        col = columns[index]
        col.count += rows
        updaters[col.type](col, batch.column(index))

    if pool is None:
        for i in range(batch.num_columns):
            one(i)
    else:
        list(pool.map(one, range(batch.num_columns)))


def profile_batches(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    threads: int = 2,
    lean: bool = False,
) -> Profile:
    """Profile a stream of record batches with ``schema``; memory stays at one batch.

    ``lean`` computes only what validation reads exactly (counts, missing, min/max, string
    lengths and value counts) and skips moments, sketches and distinct counts."""
    profile = empty_profile(schema)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="profile") if threads > 1 else None
    try:
        for batch in batches:
            _update(profile, batch, pool, lean)
    finally:
        if pool is not None:
            pool.shutdown()
    return profile
