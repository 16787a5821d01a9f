"""Load from tritonclient, the Open Inference Protocol's own client, over HTTP or gRPC:

    python triton_load.py PROTOCOL ADDRESS MODEL CONNECTIONS SECONDS

``CONNECTIONS`` requests are kept in flight (coroutines sharing one asyncio client:
``tritonclient.http.aio`` opens a connection per request in flight, ``tritonclient.grpc.aio``
multiplexes them over one HTTP/2 channel, each protocol's usual way). Each request is the
benchmark's one row as a ``[1, 20]`` FP32 tensor (binary over HTTP, tritonclient's default;
raw over gRPC). After a 2 s warm-up, requests are timed for SECONDS; the first answer is
checked. Prints ``RESULT {"rps", "p50_ms", "p99_ms", "errors", "answer"}``. The client is
Python, so at high concurrency it may be the bound, on both protocols alike.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload


async def run(protocol: str, address: str, model: str, connections: int, seconds: float) -> None:
    if protocol == "grpc":
        import tritonclient.grpc.aio as triton
    else:
        import tritonclient.http.aio as triton
    client: Any = triton.InferenceServerClient(address)
    row = np.array([workload.row()], dtype=np.float32)

    def inputs() -> list[Any]:
        tensor = triton.InferInput("input-0", [1, workload.FEATURES], "FP32")
        tensor.set_data_from_numpy(row)
        return [tensor]

    answer = (await client.infer(model, inputs())).as_numpy("predict").tolist()
    latencies: list[float] = []
    errors = 0
    timing = False

    async def worker(stop: float) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                await client.infer(model, inputs())
            except Exception:  # counted, and the load goes on
                errors += 1
                continue
            if timing:
                latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(time.monotonic() + 2.0) for _ in range(connections)))
    timing = True
    start = time.monotonic()
    await asyncio.gather(*(worker(start + seconds) for _ in range(connections)))
    elapsed = time.monotonic() - start
    await client.close()
    latencies.sort()
    result = {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "errors": errors,
        "answer": answer,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    proto, where, name, conns, secs = sys.argv[1:6]
    asyncio.run(run(proto, where, name, int(conns), float(secs)))
