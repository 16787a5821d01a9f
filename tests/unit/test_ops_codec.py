"""The op codec: what travels to the server and into the spool, and its validation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.errors import InvalidArgument
from modelyard.tracking.entities import Metric
from modelyard.tracking.ops import (
    CreateRun,
    DeleteTag,
    LogBatch,
    UpdateRun,
    decode_ops,
    encode_ops,
    merge_ops,
)

RUN = "0123456789abcdef" * 2
keys = st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=20)
floats = st.floats(allow_nan=True, allow_infinity=True)


@given(
    st.lists(
        st.tuples(keys, floats, st.integers(0, 2**40), st.integers(-(2**40), 2**40)), max_size=50
    )
)
def test_log_ops_round_trip(points: list[tuple[str, float, int, int]]) -> None:
    op = LogBatch(RUN, [Metric(*p) for p in points], {"p": "1"}, {"t": "x"})
    (back,) = decode_ops(encode_ops([op]))
    assert isinstance(back, LogBatch)
    for a, b in zip(op.metrics, back.metrics, strict=True):
        assert (a.key, a.timestamp, a.step) == (b.key, b.timestamp, b.step)
        assert (math.isnan(a.value) and math.isnan(b.value)) or a.value == b.value


def test_every_kind_round_trips() -> None:
    ops = [
        CreateRun(RUN, "3", "name", "me", 5, None, {"a": "b"}),
        UpdateRun(RUN, "FINISHED", 9, None),
        DeleteTag(RUN, "a"),
    ]
    assert decode_ops(encode_ops(ops)) == ops


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("nope", "ops"),
        ([{"op": "log", "run_id": "x"}], "ops[0].run_id"),
        ([{"op": "explode", "run_id": RUN}], "ops[0].op"),
        ([{"op": "log", "run_id": RUN, "metrics": [["k", 1, 1]]}], "ops[0].metrics[0]"),
        ([{"op": "log", "run_id": RUN, "metrics": [["k", "NaNx", 1, 0]]}], "ops[0].metrics[0]"),
        ([{"op": "update_run", "run_id": RUN, "status": "DONE"}], "ops[0].status"),
        ([{"op": "log", "run_id": RUN, "params": {"": "v"}}], "ops[0].params key"),
    ],
)
def test_bad_ops_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        decode_ops(raw)
    assert err.value.field == field


def test_merge_keeps_order_and_separates_conflicting_params() -> None:
    ops = [
        LogBatch(RUN, [Metric("m", 1.0, 1, 0)], {"p": "1"}),
        LogBatch(RUN, [Metric("m", 2.0, 1, 1)]),
        LogBatch(RUN, [], {"p": "2"}),
        UpdateRun(RUN, "FINISHED"),
        LogBatch(RUN, [Metric("m", 3.0, 1, 2)]),
    ]
    merged = merge_ops(ops)
    assert [type(o).__name__ for o in merged] == ["LogBatch", "LogBatch", "UpdateRun", "LogBatch"]
    first = merged[0]
    assert isinstance(first, LogBatch) and [m.step for m in first.metrics] == [0, 1]
    assert ops[0].metrics == [Metric("m", 1.0, 1, 0)]  # inputs are not mutated


def test_merge_is_linear() -> None:
    ops = [LogBatch(RUN, [Metric("m", float(i), 1, i)]) for i in range(200_000)]
    (merged,) = merge_ops(ops)
    assert isinstance(merged, LogBatch) and len(merged.metrics) == 200_000
