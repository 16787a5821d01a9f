"""Inference statistics per served model version, in the shape of Triton's statistics
extension (``GET /v2/models[/{name}[/versions/{v}]]/stats``, gRPC ``ModelStatistics``).

Counting is a handful of integer additions per request, made on the event loop's thread
(requests, batcher callbacks and the statistics reader all run there), so no lock is taken
and no request waits for another to count. Each ``ServedModel`` holds its own counters: a
version swapped in or loaded again starts from zero, as in Triton.

What each figure means here:

- ``success`` / ``fail``: requests answered / refused after they reached the model's name
  (a bad input, a timeout, an overload 503), and the nanoseconds from admission to the
  answer being ready (the body read included; the send is not);
- ``queue``: waiting for the model (the adaptive batcher's queue, or a free thread);
- ``compute_input``: decoding the request and building the model's input;
- ``compute_infer``: the model call that held the request's rows (a batched call is counted
  whole for each request in it, as Triton does), plus the class-probability call when asked;
- ``compute_output``: encoding the answer;
- ``inference_count``: rows answered; ``execution_count``: model calls (a batch is one);
- ``batch_stats``: model calls and their time by the rows they held (only ``compute_infer``:
  input and output are per request here), for the first ``MAX_BATCH_SIZES`` sizes seen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

MAX_BATCH_SIZES = 1024  # distinct batch sizes listed; a model call of another size still counts


@dataclass
class Timing:
    """Where one request's time went, in nanoseconds (filled as it goes)."""

    queue_ns: int = 0
    input_ns: int = 0
    infer_ns: int = 0
    output_ns: int = 0
    calls: int = 0  # model calls made for it alone (unbatched path and probabilities)


class ModelStats:
    __slots__ = (
        "batches",
        "execution_count",
        "fail",
        "fail_ns",
        "infer_ns",
        "inference_count",
        "input_ns",
        "last_inference_ms",
        "output_ns",
        "queue_ns",
        "success",
        "success_ns",
    )

    def __init__(self) -> None:
        self.success = self.success_ns = self.fail = self.fail_ns = 0
        self.queue_ns = self.input_ns = self.infer_ns = self.output_ns = 0
        self.inference_count = self.execution_count = self.last_inference_ms = 0
        self.batches: dict[int, list[int]] = {}  # rows -> [model calls, ns]

    def succeeded(self, timing: Timing, rows: int, total_ns: int) -> None:
        self.success += 1
        self.success_ns += total_ns
        self.queue_ns += timing.queue_ns
        self.input_ns += timing.input_ns
        self.infer_ns += timing.infer_ns
        self.output_ns += timing.output_ns
        self.inference_count += rows
        self.last_inference_ms = time.time_ns() // 1_000_000

    def failed(self, total_ns: int) -> None:
        self.fail += 1
        self.fail_ns += total_ns

    def executed(self, rows: int, ns: int) -> None:
        """One model call of ``rows`` rows that took ``ns``."""
        self.execution_count += 1
        found = self.batches.get(rows)
        if found is None:
            if len(self.batches) >= MAX_BATCH_SIZES:
                return
            found = self.batches[rows] = [0, 0]
        found[0] += 1
        found[1] += ns

    def to_dict(self, name: str, version: str) -> dict[str, Any]:
        """Triton's JSON for one model version (the gRPC message has the same fields)."""
        ok = self.success

        def pair(count: int, ns: int) -> dict[str, int]:
            return {"count": count, "ns": ns}

        return {
            "name": name,
            "version": version,
            "last_inference": self.last_inference_ms,
            "inference_count": self.inference_count,
            "execution_count": self.execution_count,
            "inference_stats": {
                "success": pair(ok, self.success_ns),
                "fail": pair(self.fail, self.fail_ns),
                "queue": pair(ok, self.queue_ns),
                "compute_input": pair(ok, self.input_ns),
                "compute_infer": pair(ok, self.infer_ns),
                "compute_output": pair(ok, self.output_ns),
                "cache_hit": pair(0, 0),
                "cache_miss": pair(0, 0),
            },
            "batch_stats": [
                {
                    "batch_size": rows,
                    "compute_input": pair(0, 0),
                    "compute_infer": pair(calls, ns),
                    "compute_output": pair(0, 0),
                }
                for rows, (calls, ns) in sorted(self.batches.items())
            ],
            "memory_usage": [],
        }
