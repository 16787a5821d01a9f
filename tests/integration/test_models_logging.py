"""Models logged into runs and loaded back by URI, embedded and through a server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modelyard as yard
from modelyard.errors import InvalidArgument


@pytest.mark.parametrize("tracking_uri", ["sqlite", "server"], indirect=True)
def test_log_model_in_a_run_and_load_by_uri(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    y = (frame.a + frame.b > 0).astype(int)
    model = LogisticRegression().fit(frame, y)
    with yard.start_run(run_name="train") as run:
        info = yard.models.log_model(model, "model", input_example=frame.head(3))
    assert info.uri == f"runs:/{run.info.run_id}/model" and info.flavor == "sklearn"
    assert info.signature is not None and info.signature.columns == ["a", "b"]
    files = {f.path for f in yard.Client().list_artifacts(run.info.run_id, "model")}
    assert {"model/model.yaml", "model/model.skops", "model/input_example.json"} <= files
    loaded = yard.models.load(info.uri)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(InvalidArgument, match="needs an active run"):
        yard.models.log_model(model)
    with pytest.raises(InvalidArgument, match="runs:/<run id>/<path>"):
        yard.models.load("runs:/only-an-id")
