"""Mergeable sketches for profiles: a log-linear value histogram and HyperLogLog.

Both are updated from whole numpy arrays and merged by plain addition / maximum, so the
sketch of two batches is exactly the merge of their sketches, in any order. That is what lets
a profile be built in chunks and compared for drift later without the raw data.

``ValueSketch`` buckets a float64 by its sign, exponent and top ``MANTISSA_BITS`` mantissa bits
(the float's own bit pattern, no logarithm): every bucket spans a relative width of
2**-MANTISSA_BITS, so quantiles read from it are within ~0.8% relative error of the true ones.
``HyperLogLog`` uses 2**HLL_P registers (standard error ~1.6%) over a 64-bit mix of the values.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidArgument

MANTISSA_BITS = 7
_SHIFT = np.uint64(52 - MANTISSA_BITS)
_SIGN = 11 + MANTISSA_BITS  # bit of the sign in a bucket key
_LOW = (1 << _SIGN) - 1

HLL_P = 12
_M = 1 << HLL_P
_MAX_RANK = 32
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)

Floats = npt.NDArray[np.float64]
UInts = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]


def bucket_keys(values: Floats) -> Ints:
    """Order-preserving bucket keys of finite float64 values.

    The sign, exponent and top mantissa bits of the float, with negative keys mirrored below
    the positive ones, so sorting keys sorts values and keys of one column stay contiguous."""
    keys = ((values + 0.0).view(np.uint64) >> _SHIFT).astype(np.int64)  # -0.0 -> 0.0
    flip = (keys >> _SIGN) * _LOW | (1 << _SIGN)
    keys ^= flip
    return keys


def _midpoints(keys: Ints) -> Floats:
    """The float in the middle of each bucket (lower edge + half a bucket of mantissa)."""
    raw = np.where(keys >= (1 << _SIGN), keys ^ (1 << _SIGN), keys ^ ((1 << (_SIGN + 1)) - 1))
    low = raw.astype(np.uint64) << _SHIFT
    half = np.uint64(1) << (_SHIFT - np.uint64(1))
    mids = (low | half).view(np.float64).copy()
    exponent = (raw >> MANTISSA_BITS) & 0x7FF
    mids[exponent == 0] = 0.0  # zero and subnormals
    return mids


class ValueSketch:
    """Counts of finite float64 values in log-linear buckets; exact to merge."""

    __slots__ = ("counts", "keys")
    RELATIVE_WIDTH = 2.0**-MANTISSA_BITS  # of a bucket, to the values in it: the resolution

    def __init__(self, keys: Ints | None = None, counts: Ints | None = None) -> None:
        self.keys: Ints = keys if keys is not None else np.empty(0, dtype=np.int64)
        self.counts: Ints = counts if counts is not None else np.empty(0, dtype=np.int64)

    def add_keys(self, keys: Ints) -> None:
        """Count bucket keys from ``bucket_keys`` (one call per batch, not per value)."""
        if keys.size == 0:
            return
        lo = int(keys.min())
        dense = np.bincount(keys - lo)
        (present,) = np.nonzero(dense)
        self._add(present.astype(np.int64) + lo, dense[present].astype(np.int64))

    def _add(self, keys: Ints, counts: Ints) -> None:
        if self.keys.size == 0:
            self.keys, self.counts = keys, counts
            return
        both = np.concatenate([self.keys, keys])
        uniq, inverse = np.unique(both, return_inverse=True)
        total = np.bincount(inverse, weights=np.concatenate([self.counts, counts]))
        self.keys, self.counts = uniq, total.astype(np.int64)

    def update(self, values: Floats) -> None:
        self.add_keys(bucket_keys(values))

    def merge(self, other: ValueSketch) -> ValueSketch:
        out = ValueSketch(self.keys, self.counts)
        out._add(other.keys, other.counts)
        return out

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def quantiles(self, qs: list[float], lo: float, hi: float) -> list[float]:
        """Approximate quantiles, clamped to the exact ``lo``/``hi`` the profile keeps."""
        if self.counts.size == 0:
            return [float("nan")] * len(qs)
        mids = _midpoints(self.keys)
        cumulative = np.cumsum(self.counts)
        total = int(cumulative[-1])
        out = []
        for q in qs:
            rank = min(total - 1, max(0, int(np.floor(q * (total - 1)))))
            index = int(np.searchsorted(cumulative, rank, side="right"))
            out.append(float(min(hi, max(lo, mids[index]))))
        return out

    def points(self) -> tuple[Floats, Ints]:
        """Each bucket as its middle value and its count, in order of value."""
        mids = _midpoints(self.keys)
        order = np.argsort(mids, kind="stable")
        return mids[order], self.counts[order]

    def histogram(self, bins: int, lo: float, hi: float) -> tuple[list[float], list[int]]:
        """``bins`` equal-width bins over [lo, hi]: edges and counts (from bucket midpoints)."""
        if self.counts.size == 0 or not np.isfinite(lo) or not np.isfinite(hi):
            return [], []
        if hi <= lo:
            return [lo, hi], [self.total]
        mids = np.clip(_midpoints(self.keys), lo, hi)
        edges = np.linspace(lo, hi, bins + 1)
        where = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, bins - 1)
        hist = np.bincount(where, weights=self.counts, minlength=bins).astype(np.int64)
        return edges.tolist(), hist.tolist()

    def to_dict(self) -> dict[str, Any]:
        return {
            "mantissa_bits": MANTISSA_BITS,
            "keys": self.keys.tolist(),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValueSketch:
        if data.get("mantissa_bits") != MANTISSA_BITS:
            raise InvalidArgument(
                f"value sketch has mantissa_bits={data.get('mantissa_bits')!r}", field="profile"
            )
        keys = np.asarray(data["keys"], dtype=np.int64)
        counts = np.asarray(data["counts"], dtype=np.int64)
        if keys.shape != counts.shape:
            raise InvalidArgument("value sketch keys and counts differ in length", field="profile")
        return cls(keys, counts)


def mix64(bits: UInts) -> UInts:
    """A cheap 64-bit mix (xor-shift, multiply, xor-shift, multiply) of raw value bits."""
    h = bits >> np.uint64(31)
    h ^= bits
    h *= _C1
    h ^= h >> np.uint64(29)
    h *= _C2
    return h


class HyperLogLog:
    """Distinct-count estimate from 2**HLL_P max-rank registers; merge is elementwise max."""

    __slots__ = ("registers",)

    def __init__(self, registers: npt.NDArray[np.uint8] | None = None) -> None:
        self.registers = registers if registers is not None else np.zeros(_M, dtype=np.uint8)

    def update_hashes(self, hashes: UInts) -> None:
        """Register = top HLL_P bits; rank = 1 + leading zeros of the next 31 bits (max 32)."""
        if hashes.size == 0:
            return
        register = (hashes >> np.uint64(64 - HLL_P)).astype(np.intp)
        word = ((hashes >> np.uint64(64 - HLL_P - 31)) & np.uint64(0x7FFFFFFF)).astype(np.int32)
        # float32's exponent field is 127 + floor(log2(word)) for word >= 1, 0 for word == 0
        exponent = word.astype(np.float32).view(np.int32) >> 23
        rank = np.where(word == 0, _MAX_RANK, 158 - exponent).astype(np.uint8)
        regs = self.registers
        better = rank > regs[register]  # once warm, only a few values can raise a register
        np.maximum.at(regs, register[better], rank[better])

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        return HyperLogLog(np.maximum(self.registers, other.registers))

    def estimate(self) -> int:
        regs = self.registers.astype(np.float64)
        alpha = 0.7213 / (1 + 1.079 / _M)
        raw = alpha * _M * _M / float(np.sum(np.exp2(-regs)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * _M and zeros:
            return round(float(_M * np.log(_M / zeros)))  # linear counting for small sets
        return round(raw)

    def to_dict(self) -> dict[str, Any]:
        return {"p": HLL_P, "registers": base64.b64encode(self.registers.tobytes()).decode()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HyperLogLog:
        if data.get("p") != HLL_P:
            raise InvalidArgument(f"HyperLogLog has p={data.get('p')!r}", field="profile")
        raw = np.frombuffer(base64.b64decode(data["registers"]), dtype=np.uint8).copy()
        if raw.size != _M:
            raise InvalidArgument("HyperLogLog registers have the wrong size", field="profile")
        return cls(raw)
