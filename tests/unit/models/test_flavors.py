"""XGBoost, LightGBM and PyTorch flavors: their own formats, a checked ONNX copy, and the
runtime choice (the copy by default, the framework on request, trust where it unpickles)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models import load, save_model


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, atol=1e-4)
    else:
        np.testing.assert_array_equal(got, want)


def _round_trip(model: object, frame: pd.DataFrame, root: Path, expect_flavor: str) -> None:
    spec = save_model(model, root, input_example=frame.head(40))
    assert spec.flavor == expect_flavor
    assert spec.onnx["status"] == "ok", spec.onnx
    assert spec.onnx["max_abs_diff"] <= 1e-4 and "model.onnx" in spec.files
    want = model.predict(frame)  # type: ignore[attr-defined]
    auto, native = load(root), load(root, runtime="native")
    assert (auto.runtime, native.runtime) == ("onnx", "native")
    _same(native.predict(frame), want)
    _same(auto.predict(frame), want)  # labels stay labels, dtypes and shapes as the framework's
    _same(auto.predict(frame.head(1)), want[:1])
    with pytest.raises(InvalidArgument, match=r"missing column\(s\) \['d'\]"):
        auto.predict(frame.drop(columns="d"))


def test_xgboost_models_in_their_own_format(tmp_path: Path, frame: pd.DataFrame) -> None:
    xgb = pytest.importorskip("xgboost")
    labels = (frame.a + frame.b > 0).astype(int) + (frame.c > 1).astype(int)
    clf = xgb.XGBClassifier(n_estimators=15, max_depth=3).fit(frame, labels)
    _round_trip(clf, frame, tmp_path / "clf", "xgboost")
    assert "model.ubj" in save_model(clf, tmp_path / "again").files
    reg = xgb.XGBRegressor(n_estimators=15).fit(frame, frame.a * 3 - frame.c)
    _round_trip(reg, frame, tmp_path / "reg", "xgboost")
    booster = reg.get_booster()
    spec = save_model(booster, tmp_path / "booster", input_example=frame.head(5))
    assert spec.onnx["status"] == "skipped" and "XGBRegressor" in spec.onnx["reason"]
    np.testing.assert_allclose(
        load(tmp_path / "booster").predict(frame), reg.predict(frame), atol=1e-6
    )


def test_lightgbm_models_keep_their_labels(tmp_path: Path, frame: pd.DataFrame) -> None:
    lgb = pytest.importorskip("lightgbm")
    names = np.array(["low", "mid", "high"])[(frame.a > 0).astype(int) + (frame.b > 0.5)]
    clf = lgb.LGBMClassifier(n_estimators=15, verbose=-1).fit(frame, names)
    _round_trip(clf, frame, tmp_path / "clf", "lightgbm")
    assert set(load(tmp_path / "clf").predict(frame)) <= {"low", "mid", "high"}
    binary = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(frame, frame.a > 0)
    spec = save_model(binary, tmp_path / "bin", input_example=frame.head(5))
    assert spec.onnx["status"] == "failed" and spec.onnx["reason"]  # bool labels: recorded,
    fallback = load(tmp_path / "bin")  # not fatal; the framework answers instead
    assert fallback.runtime == "native"
    np.testing.assert_array_equal(fallback.predict(frame), binary.predict(frame))
    reg = lgb.LGBMRegressor(n_estimators=15, verbose=-1).fit(frame, frame.a - frame.d)
    _round_trip(reg, frame, tmp_path / "reg", "lightgbm")
    text = (tmp_path / "reg" / "model.lgb.txt").read_text()
    assert text.startswith("tree")  # LightGBM's text format: data, not code


def test_pytorch_models_need_trust_only_for_the_native_file(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.layer(x), dim=-1)

    net = Net()
    x = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    want = net(torch.from_numpy(x)).detach().numpy()
    spec = save_model(net, tmp_path / "net", input_example=x[:8])
    assert spec.flavor == "pytorch" and "model.pt2" in spec.files
    assert spec.signature is not None and spec.signature.to_dict()["outputs"]["shape"] == [-1, 3]
    assert spec.onnx["status"] == "ok" and any(r.startswith("torch==") for r in spec.requirements)
    model = load(tmp_path / "net")  # the ONNX copy: no unpickling, no trust needed
    assert model.runtime == "onnx"
    np.testing.assert_allclose(model.predict(x), want, atol=1e-5)
    assert model.predict(x[0]).shape == (1, 3)  # one example without its batch dimension
    with pytest.raises(InvalidArgument, match=r"shape \(16, 5\); the model expects \(-1, 4\)"):
        model.predict(np.zeros((16, 5), dtype=np.float32))
    with pytest.raises(PermissionDenied, match="unpickle"):
        load(tmp_path / "net", runtime="native")
    native = load(tmp_path / "net", runtime="native", trusted=True)
    np.testing.assert_allclose(native.predict(x), want, atol=1e-5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated in 2.13
        scripted = torch.jit.script(net)
    spec = save_model(scripted, tmp_path / "script", input_example=x)
    assert spec.flavor_options["format"] == "torchscript" and spec.onnx["status"] == "ok"
    again = load(tmp_path / "script", runtime="native", trusted=True).predict(x)
    np.testing.assert_allclose(again, want, atol=1e-5)
    with pytest.raises(InvalidArgument, match="needs an input_example"):
        save_model(net, tmp_path / "bare")
    assert not (tmp_path / "bare").exists()


def test_runtime_choice_is_checked(tmp_path: Path, frame: pd.DataFrame) -> None:
    reg = RandomForestRegressor(n_estimators=5, random_state=0).fit(frame, frame.a)
    save_model(reg, tmp_path / "rf", input_example=frame.head(10))
    save_model(reg, tmp_path / "plain")  # no example: no ONNX copy
    assert load(tmp_path / "rf").predict(frame).shape == (300,)  # not (300, 1)
    assert load(tmp_path / "plain").runtime == "native"
    with pytest.raises(InvalidArgument, match="no ONNX copy") as err:
        load(tmp_path / "plain", runtime="onnx")
    assert err.value.field == "onnx"
    with pytest.raises(InvalidArgument, match="runtime must be one of auto, onnx, native"):
        load(tmp_path / "rf", runtime="gpu")  # type: ignore[arg-type]
