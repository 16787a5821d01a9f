"""Multivariate drift by a domain classifier: how well can a model tell current rows from
reference rows? ROC AUC 0.5 means not at all (no drift); the further above, the more the two
differ, jointly across columns, in ways one column at a time can miss (a correlation that
flips, an embedding that moves).

The classifier is a logistic regression fitted in numpy (scikit-learn is not needed) on
standardised features: each numeric value and its square (so a change of spread shows, not
only of level), each embedding dimension and its square, the products of pairs of the
first ``PAIRED`` of those (so a correlation that changes shows), and the 20 most frequent
categories of each categorical column as 0/1 indicators. At most ``MAX_ROWS`` rows of each
side are used (sampled, seeded); 30% of them are held out, and the AUC is measured on
those. Drift when the AUC is at least ``threshold`` (0.55). ``top_features`` names the
features whose weights are largest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.monitoring import metrics

Array = np.ndarray[Any, Any]
MAX_ROWS = 10_000
TOP_CATEGORIES = 20
HOLDOUT = 0.3
THRESHOLD = 0.55
PAIRED = 24  # numeric features (or embedding dimensions) whose pairwise products are added


@dataclass(frozen=True)
class DomainDrift:
    auc: float
    threshold: float
    drifted: bool
    rows: int  # rows used, both sides
    top_features: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_embedding(series: Any) -> bool:
    """A column of numeric vectors (lists or arrays; their lengths are checked later)."""
    sample = series.dropna().head(20)
    if len(sample) == 0:
        return False
    first = sample.iloc[0]
    if not isinstance(first, list | tuple | np.ndarray) or len(first) == 0:
        return False
    try:
        vectors = [np.asarray(v, dtype=np.float64) for v in sample]
    except (TypeError, ValueError):
        return False
    return all(v.ndim == 1 for v in vectors)


def _features(
    ref: Any, cur: Any, columns: list[str], kinds: dict[str, str]
) -> tuple[Array, list[str]]:
    import pandas as pd

    both = pd.concat([ref[columns], cur[columns]], ignore_index=True)
    blocks: list[Array] = []
    names: list[str] = []
    numbers: list[Array] = []
    number_names: list[str] = []
    for name in columns:
        kind = kinds[name]
        if kind == "numeric":
            x = pd.to_numeric(both[name], errors="coerce").to_numpy(np.float64)[:, None]
            labels = [name]
        elif kind == "embedding":
            filled = both[name].map(
                lambda v: v if isinstance(v, list | tuple | np.ndarray) else None
            )
            width = len(next(v for v in filled if v is not None))
            x = np.array(
                [
                    np.asarray(v, np.float64) if v is not None else np.full(width, np.nan)
                    for v in filled
                ]
            )
            labels = [f"{name}[{i}]" for i in range(width)]
        else:
            text = both[name].astype("string")
            top = text.value_counts().index[:TOP_CATEGORIES]
            x = np.stack([(text == c).fillna(False).to_numpy(np.float64) for c in top], axis=1)
            blocks.append(x)
            names += [f"{name}={c}" for c in top]
            continue
        x = np.where(np.isfinite(x), x, np.nan)
        mean = np.nanmean(x, axis=0)
        x = np.where(np.isnan(x), mean, x)  # a missing value tells nothing
        x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-12)
        blocks += [x, x**2]
        names += labels + [f"{n}^2" for n in labels]
        numbers.append(x)
        number_names += labels
    if numbers:  # products of pairs: a correlation that changes shows only there
        x = np.concatenate(numbers, axis=1)[:, :PAIRED]
        for i in range(x.shape[1]):
            for j in range(i + 1, x.shape[1]):
                blocks.append(x[:, i : i + 1] * x[:, j : j + 1])
                names.append(f"{number_names[i]}*{number_names[j]}")
    return np.concatenate(blocks, axis=1), names


def _fit(x: Array, y: Array, steps: int = 50, l2: float = 1e-3) -> Array:
    """Logistic regression by Newton steps on standardised features (with an intercept and
    a little L2, so that separable data still converges)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) / len(y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w


def domain_drift(
    ref: Any, cur: Any, columns: list[str], kinds: dict[str, str], *, threshold: float = THRESHOLD
) -> DomainDrift:
    rng = np.random.default_rng(0)
    if len(ref) > MAX_ROWS:
        ref = ref.iloc[np.sort(rng.choice(len(ref), MAX_ROWS, replace=False))]
    if len(cur) > MAX_ROWS:
        cur = cur.iloc[np.sort(rng.choice(len(cur), MAX_ROWS, replace=False))]
    x, names = _features(ref, cur, columns, kinds)
    y = np.concatenate([np.zeros(len(ref)), np.ones(len(cur))])
    spread = x.std(axis=0)
    keep = spread > 0
    x, names = (
        (x[:, keep] - x[:, keep].mean(axis=0)) / spread[keep],
        [n for n, k in zip(names, keep, strict=True) if k],
    )
    x = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    order = rng.permutation(len(y))
    test = order[: int(len(y) * HOLDOUT)]
    train = order[int(len(y) * HOLDOUT) :]
    w = _fit(x[train], y[train])
    auc = metrics.roc_auc(y[test], x[test] @ w)
    auc = 0.5 if auc is None else auc
    ranked = np.argsort(-np.abs(w[:-1]))[:5]
    return DomainDrift(
        auc=float(auc),
        threshold=threshold,
        drifted=bool(auc >= threshold),
        rows=len(y),
        top_features=[names[i] for i in ranked],
    )
