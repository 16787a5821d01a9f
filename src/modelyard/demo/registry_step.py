"""Demo step 3, registry: register the sweep's best model, govern its production alias,
promote it through an approval by a second user, load it by alias, print its card and verify
the audit log.

The model is logged into the best candidate's run (skops, plus an ONNX copy checked against
it), registered as the next version of ``demo-breast-cancer``, and moved to ``production``
only after a reviewer approves: the demo's own user may not approve its own request.
"""

from __future__ import annotations

from dataclasses import replace

import modelyard as yard
from modelyard.config import Settings
from modelyard.demo.tracking_step import SweepResult
from modelyard.terminal import out, print_table

MODEL = "demo-breast-cancer"


def run_registry_step(result: SweepResult) -> None:
    info = yard.models.log_model(
        result.best_model,
        "model",
        input_example=result.example,
        run_id=result.best_run_id,
        registered_model_name=MODEL,
        tags={"auc": f"{result.best_auc:.4f}"},
    )
    client = yard.Client()
    version = client.get_version(MODEL, info.version)
    spec = yard.models.load(info.model_uri).onnx
    onnx = (
        f"max abs diff {float(spec.get('max_abs_diff', 0.0)):.2g}"
        if spec.get("status") == "ok"
        else spec.get("reason", "")
    )
    out.print(f"{info.model_uri} from {info.uri}")
    out.print(f"  flavor {version.flavor}, ONNX copy {spec.get('status')} ({onnx})")
    client.set_alias(MODEL, "champion", version.version)  # ungoverned: moves at once
    client.set_alias_policy(MODEL, "production", min_approvals=1)  # four eyes
    request = client.request_approval(
        MODEL, version.version, alias="production", comment="best AUC of the sweep"
    )
    reviewer = yard.Client(settings=replace(Settings.from_env(), user="demo-reviewer"))
    decided = reviewer.approve(request.request_id, "metrics and card reviewed")
    out.print(
        f"production: requested by {request.requested_by}, {decided.status.lower()} by "
        f"{', '.join(v.actor for v in decided.votes)}; alias moved to version {version.version}"
    )
    loaded = yard.models.load(f"models:/{MODEL}@production")
    print_table(
        f"models:/{MODEL}@production",
        ["row", "prediction", "runtime"],
        [[i, int(p), loaded.runtime] for i, p in enumerate(loaded.predict(result.example))],
    )
    card = client.model_card(MODEL, version.version).to_markdown()
    out.print("\n".join(card.splitlines()[:8]) + "\n...")
    check = client.verify_audit()
    out.print(
        f"audit log: {check.entries} entries, chain {'intact' if check.ok else 'BROKEN'}; "
        f"see it with  modelyard audit log  and  modelyard models card {MODEL}"
    )
