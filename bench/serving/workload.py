"""The models both sides serve, trained identically in every venv: scikit-learn's
LogisticRegression and RandomForest (100 trees, depth 8) on 10,000 rows x 20 features.
Standard library, numpy and scikit-learn only (each peer's venv has them)."""

from __future__ import annotations

from typing import Any

FEATURES = 20
ROWS = 10_000


def data() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=ROWS, n_features=FEATURES, n_informative=10, random_state=0
    )


def train(kind: str) -> Any:
    x, y = data()
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000).fit(x, y)
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(x, y)


def row() -> list[float]:
    """The single row every request sends."""
    x, _ = data()
    return [float(v) for v in x[0]]
