"""The floor of the drift benchmark: the same tests as the automatic choice picks here, in
plain numpy and scipy, one column at a time, with nothing else (no typing rules, no report).

    python floor_worker.py REFERENCE.parquet CURRENT.parquet

Numeric columns: scipy's Wasserstein distance over the reference's standard deviation
(threshold 0.1); categorical: scipy's Jensen-Shannon distance of the category shares
(threshold 0.1). Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import spatial, stats


def main() -> None:
    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    drifted = []
    for name in ref.columns:
        a, b = ref[name].to_numpy(), cur[name].to_numpy()
        if a.dtype.kind == "f":
            score = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
        else:
            keys, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
            r = np.bincount(inverse[: len(a)], minlength=len(keys)) / len(a)
            c = np.bincount(inverse[len(a) :], minlength=len(keys)) / len(b)
            score = spatial.distance.jensenshannon(r, c)
        if score >= 0.1:
            drifted.append(name)
    drift_s = time.perf_counter() - t0
    result = {
        "tool": "numpy+scipy",
        "load_s": load_s,
        "drift_s": drift_s,
        "total_s": load_s + drift_s,
        "drifted": sorted(drifted),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
