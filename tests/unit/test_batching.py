"""Adaptive batching: no wait when idle, everything queued runs as the next call, never more
than max_batch rows in a call, each request gets its own rows, errors reach every waiter."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from modelyard.serving.runtime.batching import Batcher


def _slow_double(calls: list[int], delay: float = 0.05):  # type: ignore[no-untyped-def]
    def run(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        time.sleep(delay)
        return matrix[:, 0] * 2

    return run


def test_requests_queued_behind_a_call_run_together() -> None:
    calls: list[int] = []

    async def main() -> list[np.ndarray]:
        batcher = Batcher(_slow_double(calls), max_batch=8)
        first = asyncio.ensure_future(batcher.submit(np.array([[0.0]])))
        await asyncio.sleep(0.01)  # the first call is running now
        rest = [batcher.submit(np.array([[float(i)]])) for i in range(1, 21)]
        out = await asyncio.gather(first, *rest)
        batcher.close()
        return out

    out = asyncio.run(main())
    assert [float(o[0]) for o in out] == [2.0 * i for i in range(21)]  # each its own rows
    assert calls[0] == 1  # an idle model runs a lone request at once
    assert max(calls) <= 8 and sum(calls) == 21 and len(calls) == 4  # 1 + 8 + 8 + 4


def test_a_big_request_is_cut_and_errors_reach_every_waiter() -> None:
    calls: list[int] = []

    async def main() -> np.ndarray:
        batcher = Batcher(_slow_double(calls, 0.0), max_batch=4)
        out = await batcher.submit(np.arange(10, dtype=float).reshape(10, 1))
        batcher.close()
        return out

    np.testing.assert_array_equal(asyncio.run(main()), np.arange(10) * 2)
    assert calls == [4, 4, 2]

    def broken(matrix: np.ndarray) -> np.ndarray:
        time.sleep(0.02)
        raise RuntimeError("model failed")

    async def failing() -> list[object]:
        batcher = Batcher(broken, max_batch=4)
        got = await asyncio.gather(
            *(batcher.submit(np.zeros((1, 1))) for _ in range(5)), return_exceptions=True
        )
        batcher.close()
        return got

    assert all(isinstance(e, RuntimeError) for e in asyncio.run(failing()))
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(broken, max_batch=0)
