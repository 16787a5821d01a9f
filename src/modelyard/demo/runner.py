"""The end-to-end demo: the lifecycle steps in order. Later issues append their steps here."""

from __future__ import annotations

import modelyard as yard
from modelyard.demo.data_step import run_data_step
from modelyard.demo.monitoring_step import run_monitoring_step
from modelyard.demo.registry_step import run_registry_step
from modelyard.demo.tracking_step import run_sweep, show_comparison
from modelyard.terminal import out


def run_demo(tracking_uri: str | None) -> None:
    if tracking_uri is not None:
        yard.set_tracking_uri(tracking_uri)
    out.rule("[bold]modelyard demo[/]")
    out.print(f"store: {yard.get_tracking_uri()}")
    out.rule("1. track: a model sweep with nested runs")
    result = run_sweep()
    show_comparison(result)
    out.print(
        f"best run {result.best_run_id} (auc {result.best_auc:.4f}); inspect it with\n"
        f"  modelyard runs show {result.best_run_id}"
        + (f" -t {tracking_uri}" if tracking_uri else "")
        + f"\n  modelyard artifacts list {result.best_run_id}"
        + (f" -t {tracking_uri}" if tracking_uri else "")
    )
    out.rule("2. data: version, profile and validate the training data")
    run_data_step(result.parent_run_id, result.best_run_id)
    out.rule("3. registry: register, govern, approve, load by alias")
    run_registry_step(result)
    out.rule("4. monitoring: drift of a live batch against the training data")
    run_monitoring_step()
