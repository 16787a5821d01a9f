"""Demo step 1, tracking: a small model sweep on scikit-learn's breast-cancer data.

A parent run holds the sweep; each candidate is a nested run with params, a per-fold metric
history, a confusion-matrix figure, a metrics JSON and a predictions table. Returns the best
run so later steps (data, registry, serving) can carry on from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.progress import Progress

import modelyard as yard
from modelyard.errors import InvalidArgument
from modelyard.terminal import out, print_table

EXPERIMENT = "modelyard-demo"


@dataclass(frozen=True)
class SweepResult:
    experiment_id: str
    parent_run_id: str
    best_run_id: str
    best_auc: float
    best_model: Any  # the best candidate, refitted on all the data
    example: Any  # a few rows of its input


def _candidates() -> list[tuple[str, Any, dict[str, Any]]]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: list[tuple[str, Any, dict[str, Any]]] = []
    for c in (0.1, 1.0):
        params = {"model": "logistic_regression", "C": c}
        out.append(
            (
                f"logreg-C{c}",
                make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)),
                params,
            )
        )
    for depth in (4, 8):
        params = {"model": "random_forest", "n_estimators": 100, "max_depth": depth}
        out.append(
            (
                f"rf-d{depth}",
                RandomForestClassifier(n_estimators=100, max_depth=depth, random_state=0),
                params,
            )
        )
    params = {"model": "gradient_boosting", "n_estimators": 100, "learning_rate": 0.1}
    out.append(("gbm", GradientBoostingClassifier(random_state=0), params))
    return out


def run_sweep(folds: int = 3) -> SweepResult:
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score
        from sklearn.model_selection import StratifiedKFold
    except ImportError as exc:
        raise InvalidArgument(
            "the demo needs scikit-learn: pip install 'modelyard[demo]'", field="demo"
        ) from exc
    import pandas as pd

    data = load_breast_cancer(as_frame=True)
    x, y = data.data, data.target
    exp = yard.set_experiment(EXPERIMENT)
    candidates = _candidates()
    with (
        yard.start_run(run_name="sweep", tags={"demo": "true"}) as parent,
        Progress(console=out, transient=True) as progress,
    ):
        yard.log_params(
            {"dataset": "sklearn.breast_cancer", "folds": folds, "candidates": len(candidates)}
        )
        task = progress.add_task("training candidates", total=len(candidates) * folds)
        best: tuple[str, float] = ("", -1.0)
        best_model: Any = None
        for name, model, params in candidates:
            with yard.start_run(run_name=name, nested=True) as child:
                yard.log_params(params)
                aucs, f1s = [], []
                preds = pd.Series(0.0, index=x.index)
                splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
                for fold, (tr, te) in enumerate(splitter.split(x, y)):
                    model.fit(x.iloc[tr], y.iloc[tr])
                    proba = model.predict_proba(x.iloc[te])[:, 1]
                    preds.iloc[te] = proba
                    aucs.append(roc_auc_score(y.iloc[te], proba))
                    f1s.append(f1_score(y.iloc[te], proba > 0.5))
                    yard.log_metric("fold_auc", aucs[-1], step=fold)
                    progress.advance(task)
                auc, f1 = sum(aucs) / folds, sum(f1s) / folds
                yard.log_metrics({"auc": auc, "f1": f1})
                yard.log_dict({"auc": auc, "f1": f1, "fold_auc": aucs}, "metrics.json")
                yard.log_table(pd.DataFrame({"y_true": y, "proba": preds}), "predictions.parquet")
                _log_confusion(confusion_matrix(y, preds > 0.5), name)
                if auc > best[1]:
                    best, best_model = (child.run_id, auc), model
        yard.log_metric("best_auc", best[1])
        yard.set_tag("best_run_id", best[0])
    best_model.fit(x, y)
    return SweepResult(exp.experiment_id, parent.run_id, best[0], best[1], best_model, x.head(5))


def _log_confusion(matrix: Any, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in __import__("numpy").ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set_title(title)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    yard.log_figure(fig, "confusion.png")
    plt.close(fig)


def show_comparison(result: SweepResult) -> None:
    runs = yard.search_runs(
        experiment_ids=[result.experiment_id],
        filter=f"attributes.parent_run_id = '{result.parent_run_id}' and metrics.auc > 0.5",
        order_by=["metrics.auc DESC"],
    )
    rows = [
        [
            r["run_name"],
            r.get("params.model", ""),
            f"{r['metrics.auc']:.4f}",
            f"{r['metrics.f1']:.4f}",
            r["run_id"][:12],
        ]
        for _, r in runs.iterrows()
    ]
    print_table(
        "Candidates, best first (yard.search_runs)", ["run", "model", "auc", "f1", "run id"], rows
    )
