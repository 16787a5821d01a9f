"""modelyard's side of the models benchmark: ``python yard_worker.py SPEC_JSON``.

Trains the model, logs and registers it ``log_repeats`` times, loads it from the registry
(first load, then repeated loads) and times predict; prints ``RESULT {json}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl


def main() -> None:
    spec = json.loads(sys.argv[1])
    store = Path(spec["store"])
    import modelyard as yard

    x, y, test = wl.data(int(spec["seed"]))
    model = wl.train(spec["model"], x, y)
    name = f"bench-{spec['model']}"
    yard.set_tracking_uri(f"sqlite:///{store}/yard.db")
    yard.set_experiment("models-bench")

    def log_once() -> None:
        with yard.start_run():
            yard.models.log_model(
                model, "model", input_example=x.head(5), registered_model_name=name
            )

    result, loaded = wl.measure(log_once, yard.models.load, f"models:/{name}/1", model, test, spec)
    result["runtime"] = loaded.runtime
    result["onnx_max_abs_diff"] = loaded.onnx.get("max_abs_diff")
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
