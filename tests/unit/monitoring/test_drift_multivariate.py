"""Multivariate drift by a domain classifier: a flipped correlation that no single column
shows, embeddings that move, and nothing flagged for same-distribution data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.compute import drift


def _correlated(rng: np.random.Generator, n: int, rho: float) -> pd.DataFrame:
    cov = [[1.0, rho], [rho, 1.0]]
    xy = rng.multivariate_normal([0, 0], cov, n)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "plan": rng.choice(list("abc"), n)})


def test_a_flipped_correlation_is_found_jointly_though_no_column_drifts() -> None:
    rng = np.random.default_rng(0)
    ref, cur = _correlated(rng, 5_000, 0.8), _correlated(rng, 5_000, -0.8)
    report = drift(ref, cur, multivariate=True)
    assert report.drifted_columns == []  # each column alone is unchanged
    joint = report.multivariate
    assert joint is not None and joint.drifted and joint.auc > 0.55
    same = drift(ref, _correlated(rng, 5_000, 0.8), multivariate=True).multivariate
    assert same is not None and not same.drifted and 0.4 < same.auc < 0.55
    assert report.to_dict()["multivariate"]["drifted"] is True


def test_embedding_columns_are_tested_by_a_classifier_of_their_own() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"emb": list(rng.normal(0, 1, (3_000, 8))), "n": rng.random(3_000)})
    same = pd.DataFrame({"emb": list(rng.normal(0, 1, (3_000, 8))), "n": rng.random(3_000)})
    moved = rng.normal(0, 1, (3_000, 8))
    moved[:, 3] += 0.5  # one dimension moves
    cur = pd.DataFrame({"emb": list(moved), "n": rng.random(3_000)})
    found = drift(ref, cur)["emb"]
    assert found.kind == "embedding" and found.test == "domain_classifier" and found.drifted
    assert not drift(ref, same)["emb"].drifted
    with pytest.raises(InvalidArgument) as err:
        drift(ref, cur, tests={"emb": "ks"})
    assert err.value.field == "tests.emb"
    with pytest.raises(InvalidArgument) as err:
        drift(ref, cur, tests={"n": "domain_classifier"})
    assert err.value.field == "tests.n"
    odd = cur.assign(emb=[v[:4] if i == 0 else v for i, v in enumerate(cur["emb"])])
    assert "several lengths" in (drift(ref, odd)["emb"].message or "")
