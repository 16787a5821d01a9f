"""Model directories: signatures enforced, every file verified, nothing unsafe loaded silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from tests.fixtures.pymodels import AddOffset, Doubler

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models import TamperedModel, infer_signature, load, save_model
from modelyard.models.signature import enforce


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 200),
            "income": rng.normal(50, 10, 200),
            "score": rng.random(200),
        }
    )
    return frame, (frame.score > 0.5).to_numpy().astype(int)


def test_sklearn_round_trip_without_pickle(tmp_path: Path, data: tuple) -> None:
    frame, y = data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, y)
    spec = save_model(model, tmp_path / "rf", input_example=frame.head(5))
    assert spec.flavor == "sklearn" and "model.skops" in spec.files
    assert spec.signature is not None and spec.signature.columns == ["age", "income", "score"]
    assert any(r.startswith("scikit-learn==") for r in spec.requirements)
    loaded = load(tmp_path / "rf")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    records = frame.head(3).to_dict(orient="records")
    np.testing.assert_array_equal(loaded.predict(records), model.predict(frame.head(3)))
    assert not list((tmp_path / "rf").glob("*.pkl"))


def test_predict_input_is_checked_against_the_signature(tmp_path: Path, data: tuple) -> None:
    frame, y = data
    model = LogisticRegression().fit(frame, y)
    loaded = (
        load(tmp_path / "m") if save_model(model, tmp_path / "m", input_example=frame) else None
    )
    assert loaded is not None
    with pytest.raises(InvalidArgument, match=r"missing column\(s\) \['score'\]") as err:
        loaded.predict(frame.drop(columns="score"))
    assert err.value.field == "score"
    with pytest.raises(InvalidArgument, match="'age' has type string; the model expects integer"):
        loaded.predict(frame.assign(age="old"))
    with pytest.raises(InvalidArgument, match="'income' has missing values"):
        loaded.predict(frame.assign(income=np.nan))
    # safe widening is fine, extra columns are dropped, order is restored
    widened = frame.assign(age=frame.age.astype("int32"))[["score", "income", "age"]].assign(x=1)
    np.testing.assert_array_equal(loaded.predict(widened), model.predict(frame))


def test_tensor_signatures() -> None:
    sig = infer_signature(np.zeros((4, 3), dtype=np.float32))
    assert sig.kind == "tensor" and sig.to_dict()["inputs"] == {
        "dtype": "float32",
        "shape": [-1, 3],
    }
    assert enforce(sig, np.ones(3, dtype=np.float32)).shape == (1, 3)  # one row, no batch axis
    with pytest.raises(InvalidArgument, match=r"shape \(2, 4\); the model expects \(-1, 3\)"):
        enforce(sig, np.ones((2, 4), dtype=np.float32))
    with pytest.raises(InvalidArgument, match="dtype float64; the model expects float32"):
        enforce(sig, np.ones((2, 3)))
    with pytest.raises(InvalidArgument, match="NaN"):
        enforce(sig, np.full((2, 3), np.nan, dtype=np.float32))


def test_tampered_files_are_refused(tmp_path: Path, data: tuple) -> None:
    frame, y = data
    root = tmp_path / "m"
    save_model(LogisticRegression().fit(frame, y), root, input_example=frame.head(2))
    blob = root / "model.skops"
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(TamperedModel, match=r"'model\.skops' does not match its sha256"):
        load(root)
    blob.write_bytes(original)
    (root / "extra.py").write_text("print('hi')")
    with pytest.raises(TamperedModel, match=r"'extra\.py' is not listed"):
        load(root)
    (root / "extra.py").unlink()
    spec = yaml.safe_load((root / "model.yaml").read_text())
    spec["files"]["../outside.txt"] = "0" * 64
    (root / "model.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(InvalidArgument, match=r"outside|'\.\.'"):
        load(root)


def test_foreign_types_and_pickles_need_trust(tmp_path: Path, data: tuple) -> None:
    frame, y = data
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(Doubler(), LogisticRegression()).fit(frame, y)
    save_model(pipe, tmp_path / "pipe")
    with pytest.raises(PermissionDenied, match="trusted=True"):
        load(tmp_path / "pipe")
    assert load(tmp_path / "pipe", trusted=True).predict(frame).shape == (200,)
    save_model(lambda df: df.sum(axis=1), tmp_path / "fn", flavor="python_function")
    with pytest.raises(PermissionDenied, match="loading a pickle runs whatever code"):
        load(tmp_path / "fn")
    assert len(load(tmp_path / "fn", trusted=True).predict(frame)) == 200


def test_python_models_load_by_import_path(tmp_path: Path) -> None:
    offset = tmp_path / "offset.txt"
    offset.write_text("10")
    save_model(AddOffset(str(offset)), tmp_path / "py", input_example=pd.DataFrame({"x": [1.0]}))
    loaded = load(tmp_path / "py")  # no pickle involved: no trust needed
    assert loaded.flavor == "python_function"
    np.testing.assert_array_equal(loaded.predict(pd.DataFrame({"x": [1.0, 2.0]})), [11.0, 12.0])

    class Local(AddOffset):
        pass

    with pytest.raises(InvalidArgument, match="must be importable"):
        save_model(Local(), tmp_path / "local")
    assert not (tmp_path / "local").exists()  # nothing half-written


def test_bad_input_to_save_and_load(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"no flavor knows how to save a builtins\.dict"):
        save_model({"not": "a model"}, tmp_path / "x")
    with pytest.raises(InvalidArgument, match="unknown model flavor 'tensorflow'"):
        save_model(object(), tmp_path / "y", flavor="tensorflow")
    with pytest.raises(InvalidArgument, match="not a model directory"):
        load(tmp_path)
    with pytest.raises(InvalidArgument, match="unsupported model URI"):
        load("ftp://host/model")


def test_onnx_copy_is_made_checked_and_used(tmp_path: Path, data: tuple) -> None:
    frame, y = data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, y)
    spec = save_model(model, tmp_path / "rf", input_example=frame.head(20))
    assert spec.onnx["status"] == "ok" and spec.onnx["max_abs_diff"] <= 1e-4
    assert "model.onnx" in spec.files  # hashed and verified like every other file
    loaded = load(tmp_path / "rf")
    np.testing.assert_array_equal(loaded.predict_onnx(frame), model.predict(frame))
    with pytest.raises(InvalidArgument, match="missing column"):
        loaded.predict_onnx(frame.drop(columns="age"))
    text = frame.assign(kind="a")
    skipped = save_model(
        make_pipeline_for_text(), tmp_path / "text", input_example=text.head(3)
    ).onnx
    assert skipped["status"] == "skipped" and "not all numeric" in skipped["reason"]
    no_example = save_model(model, tmp_path / "bare").onnx
    assert no_example["status"] == "skipped"
    with pytest.raises(InvalidArgument, match="no ONNX copy"):
        load(tmp_path / "bare").predict_onnx(frame)


def make_pipeline_for_text() -> object:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame(
        {
            "age": [1, 2, 3],
            "income": [1.0, 2.0, 3.0],
            "score": [0.1, 0.2, 0.3],
            "kind": ["a", "b", "a"],
        }
    )
    encode = make_column_transformer((OneHotEncoder(), ["kind"]), remainder="passthrough")
    return make_pipeline(encode, LogisticRegression()).fit(frame, [0, 1, 0])
