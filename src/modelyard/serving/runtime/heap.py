"""Keeping Python's garbage collector off the hot path.

A server process holds a large heap once its models are loaded (scikit-learn, ONNX Runtime,
pyarrow: over 150,000 tracked objects). A full collection walks all of it, holding the GIL for
80-200 ms; under load it came about once a second and showed as the whole p99 (bench/serving:
88 ms without it, 7 ms with it). So once the models are loaded and warmed up, the server
collects once and freezes what is alive (``gc.freeze``): later collections walk only what
was made since. A model loaded later (a hot swap, a deployment change) is frozen in its turn.
"""

from __future__ import annotations

import gc

_settled = False


def settle() -> None:
    """Collect once, then exempt every live object from later collections (the server calls
    this when its models are loaded and warm, before it takes requests)."""
    global _settled
    gc.collect()
    gc.freeze()
    _settled = True


def settle_new() -> None:
    """After a model is loaded into a settled process: freeze what the load made, without a
    full collection (which would walk the heap again)."""
    if _settled:
        gc.freeze()
