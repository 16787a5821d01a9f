"""Demo step 4, monitoring: a batch of live data in which one sensor was recalibrated,
checked for drift against the training data logged in step 2, with the HTML report."""

from __future__ import annotations

import tempfile
from pathlib import Path

import modelyard as yard
from modelyard.demo.data_step import training_frame
from modelyard.terminal import out, print_table


def run_monitoring_step() -> None:
    live = training_frame().sample(300, random_state=2).reset_index(drop=True)
    live["mean_radius"] = live["mean_radius"] * 1.25  # a recalibrated sensor reads 25% high
    report = yard.monitoring.drift("dataset:demo/breast-cancer", live)
    print_table(
        f"Drift of a live batch: {len(report.drifted_columns)} of {len(report.columns)} "
        f"columns drifted (dataset drift: {'yes' if report.drifted else 'no'})",
        ["column", "test", "score", "threshold"],
        [
            [c.name, c.test, f"{c.score:.3g}", f"{c.threshold:g}"]
            for c in report.columns
            if c.drifted and c.score is not None and c.threshold is not None
        ],
    )
    assert "mean_radius" in report.drifted_columns
    page = Path(tempfile.gettempdir()) / "modelyard-demo-drift.html"
    report.to_html(page, title="modelyard demo: live batch against the training data")
    out.print(f"drift report: {page} ({page.stat().st_size / 1024:.0f} KiB, open it in a browser)")
