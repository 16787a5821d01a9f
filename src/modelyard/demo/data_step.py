"""Demo step 2, data: version the training data, profile it, gate a new batch on a suite.

The breast-cancer table the sweep trained on is logged as a dataset version and linked to the
sweep's runs; a suite inferred from its profile then catches a corrupted "new batch", and the
lineage of the version shows the runs that used it.
"""

from __future__ import annotations

from typing import Any

import modelyard as yard
from modelyard.data.fluent import current_client
from modelyard.terminal import out, print_table


def training_frame() -> Any:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    return frame


def run_data_step(parent_run_id: str, best_run_id: str) -> None:
    data = current_client()
    frame = training_frame()
    version = data.log_dataset(
        frame,
        "demo/breast-cancer",
        tags={"origin": "sklearn"},
        run_id=parent_run_id,
        context="training",
    )
    data.link_run(version.name, version.version, best_run_id, context="training")
    profile = version.profile
    assert profile is not None
    out.print(
        f"{version.uri}: {version.num_rows} rows, {len(profile.columns)} columns, "
        f"digest {version.digest[:12]}"
    )
    print_table(
        "Profile (first columns)",
        ["column", "type", "min", "p50", "max", "distinct"],
        [
            [
                c.name,
                c.type,
                f"{c.min:.4g}",
                f"{c.quantiles().get('p50', 0):.4g}",
                f"{c.max:.4g}",
                c.distinct,
            ]
            for c in list(profile.columns.values())[:5]
        ],
    )
    suite = yard.data.Expectations.from_profile(profile)
    data.set_expectations(version.name, version.version, suite)
    batch = frame.sample(200, random_state=1).reset_index(drop=True)
    batch.loc[:9, "mean_radius"] = -1.0  # a broken sensor
    batch.loc[10:19, "target"] = None
    report = data.validate(batch, suite)
    print_table(
        f"New batch against the suite: {'PASSED' if report.ok else 'FAILED'} "
        f"({len(report.failures)} of {len(report.results)} rules fail)",
        ["rule", "observed", "offending rows"],
        [[f.label, f.observed, [s.get("row") for s in f.sample]] for f in report.failures],
    )
    edges = data.lineage(version.uri)
    out.print(
        "lineage: "
        + "; ".join(f"{e.source.label} -> {e.target.type}:{e.target.label}" for e in edges)
    )
