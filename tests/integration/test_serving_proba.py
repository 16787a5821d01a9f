"""A classifier's class probabilities, named by class: asked for over the Open Inference
Protocol (``outputs: [{"name": "predict_proba"}]``) and /invocations
(``params: {"predict_method": "predict_proba"}``), through the ONNX copy and the framework,
compared with the model's own ``predict_proba``; kept in the prediction log, so monitoring
scores ROC AUC, log loss and calibration against late labels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from tests.fixtures.serving import Running

import modelyard as yard
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig

RNG = np.random.default_rng(3)
FRAME = pd.DataFrame({"age": RNG.integers(18, 80, 300), "income": RNG.normal(50, 10, 300)})
WORDS = np.where(FRAME.income > 52, "stays", np.where(FRAME.income < 45, "leaves", "unsure"))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("proba")
    fitted = {
        "words": LogisticRegression(max_iter=500).fit(FRAME, WORDS),  # 3 named classes, ONNX
        "forest": RandomForestClassifier(8, random_state=0).fit(FRAME, FRAME.age > 40),
        "amount": LinearRegression().fit(FRAME, FRAME.income * 2),
    }
    for name, model in fitted.items():
        yard.models.save_model(
            model, root / name, input_example=FRAME.head(10), onnx=name != "forest"
        )
    return {"root": root, **fitted}


@pytest.fixture(scope="module")
def server(models: dict[str, Any]) -> Iterator[Running]:
    root = models["root"]
    running = Running(
        ServingApp(ServeConfig([ModelSource(str(root / n)) for n in models if n != "root"]))
    )
    yield running
    running.stop()


def _body(rows: pd.DataFrame, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [
            {"name": "age", "datatype": "INT64", "shape": [len(rows)], "data": rows.age.tolist()},
            {
                "name": "income",
                "datatype": "FP64",
                "shape": [len(rows)],
                "data": rows.income.tolist(),
            },
        ]
    }
    if outputs is not None:
        body["outputs"] = outputs
    return body


@pytest.mark.parametrize("name", ["words", "forest"])
def test_probabilities_over_the_open_inference_protocol(
    name: str, models: dict[str, Any], server: Running
) -> None:
    model, rows = models[name], FRAME.iloc[:25]
    want = model.predict_proba(rows)
    classes = [str(c) for c in model.classes_]
    with httpx.Client(base_url=server.url) as http:
        meta = http.get(f"/v2/models/{name}").json()
        assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
        assert meta["outputs"][1]["shape"] == [-1, len(classes)]
        for _ in range(2):
            got = http.post(
                f"/v2/models/{name}/infer", json=_body(rows, [{"name": "predict_proba"}])
            )
            assert got.status_code == 200, got.text
            (out,) = got.json()["outputs"]
            assert out["name"] == "predict_proba" and out["shape"] == [25, len(classes)]
            assert out["parameters"]["classes"] == classes
            np.testing.assert_allclose(np.reshape(out["data"], want.shape), want, atol=1e-6)
            both = http.post(
                f"/v2/models/{name}/infer",
                json=_body(rows, [{"name": "predict"}, {"name": "predict_proba"}]),
            ).json()["outputs"]
            assert [o["name"] for o in both] == ["predict", "predict_proba"]
            assert [str(v) for v in both[0]["data"]] == [str(v) for v in model.predict(rows)]
            binary = http.post(
                f"/v2/models/{name}/infer",
                json=_body(rows, [{"name": "predict_proba", "parameters": {"binary_data": True}}]),
            )
            assert binary.status_code == 200, binary.text
            header = int(binary.headers["inference-header-content-length"])
            raw = binary.content[header:]
            values = np.frombuffer(raw, dtype="<f8").reshape(want.shape)
            np.testing.assert_allclose(values, want, atol=1e-6)
            plain = http.post(f"/v2/models/{name}/infer", json=_body(rows)).json()["outputs"]
            assert [o["name"] for o in plain] == ["predict"]  # nothing asked: as before


def test_probabilities_over_invocations(models: dict[str, Any], server: Running) -> None:
    model, rows = models["words"], FRAME.iloc[:7]
    want = model.predict_proba(rows)
    split = rows.to_dict(orient="split")
    with httpx.Client(base_url=server.url) as http:
        for _ in range(2):
            got = http.post(
                "/invocations?model=words",
                json={"dataframe_split": split, "params": {"predict_method": "predict_proba"}},
            )
            assert got.status_code == 200, got.text
            answer = got.json()["predictions"]
            assert [list(r) for r in answer] == [list(map(str, model.classes_))] * 7
            np.testing.assert_allclose([list(r.values()) for r in answer], want, atol=1e-6)
            same = http.post(
                "/invocations?model=words",
                json={"dataframe_split": split, "params": {"predict_method": "predict"}},
            )
            assert same.json()["predictions"] == model.predict(rows).tolist()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v2/models/amount/infer", {"outputs": [{"name": "predict_proba"}]}, "outputs[0].name"),
        (
            "/v2/models/amount/infer",
            {"outputs": [{"name": "predict"}, {"name": "predict_proba"}]},
            "outputs[1].name",
        ),
        ("/v2/models/words/infer", {"outputs": [{"name": "proba"}]}, "outputs[0].name"),
        (
            "/v2/models/words/infer",
            {"outputs": [{"name": "predict_log_proba"}]},
            "outputs[0].name",
        ),
        (
            "/invocations?model=amount",
            {"params": {"predict_method": "predict_proba"}},
            "params.predict_method",
        ),
        (
            "/invocations?model=words",
            {"params": {"predict_method": "decision_function"}},
            "params.predict_method",
        ),
        ("/invocations?model=words", {"params": {"predict_method": None}}, "params.predict_method"),
        ("/invocations?model=words", {"params": {"method": "predict_proba"}}, "params.method"),
        ("/invocations?model=words", {"params": ["predict_proba"]}, "params"),
    ],
)
def test_asking_for_what_a_model_does_not_answer_is_a_400_naming_it(
    path: str, body: dict[str, Any], field: str, server: Running
) -> None:
    rows = FRAME.iloc[:2]
    if path.startswith("/v2"):
        payload = {**_body(rows), **body}
    else:
        payload = {"dataframe_split": rows.to_dict(orient="split"), **body}
    with httpx.Client(base_url=server.url) as http:
        for _ in range(2):
            got = http.post(path, json=payload)
            assert got.status_code == 400, got.text
            assert got.json()["field"] == field, got.json()
            assert "Traceback" not in got.text
        assert http.post("/v2/models/words/infer", json=_body(rows)).status_code == 200


def test_logged_probabilities_are_monitored(models: dict[str, Any], tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    forest = models["forest"]
    version = yard.models.register_model(models["root"] / "forest", "churn", tracking_uri=uri)
    config = ServeConfig(
        [ModelSource(f"models:/churn/{version.version}")],
        tracking_uri=uri,
        prediction_log=str(tmp_path / "log"),
        log_roll_s=0.2,
        ship_s=0.2,
        log_probabilities=True,
    )
    running = Running(ServingApp(config))
    rows = FRAME.iloc[:60]
    truth = (rows.income > 50).to_numpy()  # what really happened: not what the model learnt
    try:
        with httpx.Client(base_url=running.url) as http:
            for i in range(0, 60, 10):
                part = rows.iloc[i : i + 10]
                got = http.post("/v2/models/churn/infer", json={**_body(part), "id": f"b{i}"})
                assert got.status_code == 200, got.text
            labels = [
                {"request_id": f"b{i - i % 10}", "row": i % 10, "label": bool(truth[i])}
                for i in range(0, 60)
                if i % 3  # a third not labelled yet
            ]
            assert http.post("/v2/feedback", json={"labels": labels}).json() == {"accepted": 40}
        deadline = time.monotonic() + 30
        while True:
            found = yard.monitoring.predictions("churn")
            if len(found) == 60 and found["label"].notna().sum() == 40:
                break
            assert time.monotonic() < deadline, "the log did not reach the store"
            time.sleep(0.1)
    finally:
        running.stop()
    found = found.assign(n=found.request_id.str[1:].astype(int) + found.row).sort_values("n")
    want = forest.predict_proba(rows)
    np.testing.assert_allclose(found[["probability.False", "probability.True"]], want, atol=1e-9)
    for _ in range(2):
        report = yard.monitoring.performance("churn", task="classification", positive=True)
        kept = found.label.notna().to_numpy()
        score, y = want[kept, 1], truth[kept]
        assert report.overall["roc_auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        clipped = np.clip(score, 1e-15, 1 - 1e-15)
        assert report.overall["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]))
        assert report.overall["calibration_error"] is not None
