"""Paths a model file names: every one resolves inside the model folder, to a hashed file.

``model.yaml`` is the one file the folder's own check does not cover (it is the list), so a
changed ``model.yaml`` may point a loader anywhere: ``flavor_options.file``, ``onnx.file``,
``input_example``, a pickle, a PythonModel's artifacts. Each is tried with a table of ways out
of the folder (absolute, ``..``, encoded, a link); the invariant is a refusal naming the field,
and the file outside (a canary, which would load fine) is never opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from modelyard.errors import InvalidArgument
from modelyard.models.api import load, save_model
from modelyard.models.directory import TamperedModel

ESCAPES = [
    "/abs",  # replaced by the absolute path of the outside file
    "../outside/model.bin",
    "sub/../../outside/model.bin",
    "%2e%2e/outside/model.bin",
    "%252e%252e%252foutside%252fmodel.bin",
    "..\\outside\\model.bin",
    "./../outside/model.bin",
    "C:/outside/model.bin",
    "model.yaml",  # inside, but not a hashed file
    "unlisted.bin",  # inside, present, not listed (the folder check refuses it first)
    "",
    ".",
    "sub/",
    "x\x00y",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})


def _model_folder(tmp_path: Path, frame: pd.DataFrame, kind: str) -> Path:
    y = (frame["a"] > 0.5).astype(int)
    root = tmp_path / "model"
    if kind == "sklearn":
        save_model(LogisticRegression().fit(frame, y), root, input_example=frame[:3])
    elif kind == "xgboost":
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=3).fit(frame, y)
        save_model(model, root, input_example=frame[:3], onnx=False)
    elif kind == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(frame, y)
        save_model(model, root, input_example=frame[:3], onnx=False)
    elif kind == "pytorch":
        torch = pytest.importorskip("torch")
        net = torch.nn.Sequential(torch.nn.Linear(2, 1))
        save_model(net, root, input_example=frame.to_numpy(np.float32)[:3], onnx=False)
    else:
        from tests.fixtures.pymodels import AddOffset

        offset = tmp_path / "offset.txt"
        offset.write_text("1.5")
        example = frame.rename(columns={"a": "x"})[:3]
        save_model(AddOffset(str(offset)), root, input_example=example, onnx=False)
    return root


def _outside(tmp_path: Path, source: Path) -> Path:
    """A copy of a real model file outside the folder: it would load, if anything opened it."""
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    target = folder / "model.bin"
    target.write_bytes(source.read_bytes())
    return target


def _edit(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "model.yaml"
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec))


def _escape(value: str, outside: Path) -> str:
    return str(outside) if value == "/abs" else value


FLAVOR_FILES = {
    "sklearn": "model.skops",
    "xgboost": "model.ubj",
    "lightgbm": "model.lgb.txt",
    "pytorch": "model.pt2",
}


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("kind", sorted(FLAVOR_FILES))
def test_flavor_file_outside_the_folder_is_refused(
    tmp_path: Path, frame: pd.DataFrame, kind: str, escape: str
) -> None:
    root = _model_folder(tmp_path, frame, kind)
    outside = _outside(tmp_path, root / FLAVOR_FILES[kind])
    if escape == "unlisted.bin":
        (root / "unlisted.bin").write_bytes(outside.read_bytes())
    _edit(root, lambda s: s["flavor_options"].update(file=_escape(escape, outside)))
    with pytest.raises((TamperedModel, InvalidArgument)) as caught:
        load(root, runtime="native", trusted=True)  # trust never widens the folder
    assert caught.value.field is not None


@pytest.mark.parametrize("escape", ESCAPES)
def test_onnx_file_outside_the_folder_is_refused(
    tmp_path: Path, frame: pd.DataFrame, escape: str
) -> None:
    root = _model_folder(tmp_path, frame, "sklearn")
    onnx_file = next(root.glob("*.onnx"))
    outside = _outside(tmp_path, onnx_file)
    _edit(root, lambda s: s["onnx"].update(file=_escape(escape, outside)))
    with pytest.raises((TamperedModel, InvalidArgument)) as caught:
        load(root, runtime="onnx")
    assert caught.value.field in ("onnx.file", "files", "unlisted.bin")


@pytest.mark.parametrize("escape", ESCAPES)
def test_input_example_outside_the_folder_is_refused(
    tmp_path: Path, frame: pd.DataFrame, escape: str
) -> None:
    root = _model_folder(tmp_path, frame, "sklearn")
    outside = _outside(tmp_path, root / "input_example.json")
    _edit(root, lambda s: s.update(input_example=_escape(escape, outside)))
    if escape == "":  # no example at all: nothing is read
        assert load(root).input_example() is None
        return
    with pytest.raises((TamperedModel, InvalidArgument)):
        load(root).input_example()


@pytest.mark.parametrize("escape", ESCAPES)
def test_python_model_artifact_outside_the_folder_is_refused(
    tmp_path: Path, frame: pd.DataFrame, escape: str
) -> None:
    root = _model_folder(tmp_path, frame, "python_function")
    outside = _outside(tmp_path, root / "artifacts" / "offset")
    outside.write_text("1000")  # were it read, the predictions would show it
    _edit(root, lambda s: s["flavor_options"]["artifacts"].update(offset=_escape(escape, outside)))
    with pytest.raises((TamperedModel, InvalidArgument)) as caught:
        load(root)
    assert caught.value.field in ("artifacts.offset", "files", "unlisted.bin")


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_pickle_outside_the_folder_is_refused_even_when_trusted(
    tmp_path: Path, escape: str
) -> None:
    root = tmp_path / "pickle"
    save_model(lambda df: df.sum(axis=1), root, flavor="python_function", onnx=False)
    outside = _outside(tmp_path, root / "model.cloudpickle")
    _edit(root, lambda s: s["flavor_options"].update(pickle=_escape(escape, outside)))
    with pytest.raises((TamperedModel, InvalidArgument)):
        load(root, trusted=True)


@pytest.mark.parametrize("value", [None, 7, ["model.skops"], {"a": 1}])
def test_a_file_option_that_is_not_a_string_is_refused(
    tmp_path: Path, frame: pd.DataFrame, value: Any
) -> None:
    root = _model_folder(tmp_path, frame, "sklearn")
    _edit(root, lambda s: s["flavor_options"].update(file=value))
    with pytest.raises(TamperedModel, match="file"):
        load(root, runtime="native")


def test_a_linked_folder_inside_the_model_is_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    root = _model_folder(tmp_path, frame, "sklearn")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "model.skops").write_bytes((root / "model.skops").read_bytes())
    (root / "sub").symlink_to(outside, target_is_directory=True)
    _edit(root, lambda s: s["flavor_options"].update(file="sub/model.skops"))
    with pytest.raises(TamperedModel, match="link"):
        load(root, runtime="native")


def test_a_linked_model_file_is_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    root = _model_folder(tmp_path, frame, "sklearn")
    real = tmp_path / "real.skops"
    (root / "model.skops").rename(real)
    (root / "model.skops").symlink_to(real)
    with pytest.raises(TamperedModel, match="link"):
        load(root, runtime="native")


@pytest.mark.parametrize("kind", [*sorted(FLAVOR_FILES), "python_function"])
def test_untouched_models_of_every_flavor_still_load(
    tmp_path: Path, frame: pd.DataFrame, kind: str
) -> None:
    root = _model_folder(tmp_path, frame, kind)
    for _ in range(2):
        loaded = load(root, runtime="native", trusted=kind == "pytorch")
        data = frame.to_numpy(np.float32) if kind == "pytorch" else frame
        if kind == "python_function":
            data = frame.rename(columns={"a": "x"})
        assert len(loaded.predict(data)) == len(frame)


@pytest.mark.parametrize(
    "location", ["/abs", "../outside/model.bin", "sub/../../outside/model.bin"]
)
def test_onnx_external_data_outside_the_folder_is_refused(
    tmp_path: Path, frame: pd.DataFrame, location: str
) -> None:
    """An ONNX graph may keep its weights in another file: a hashed model.onnx naming a file
    outside the folder is refused (ONNX Runtime checks the path; this keeps it checked)."""
    from onnx import TensorProto, helper

    from modelyard.models.directory import sha256_file

    root = _model_folder(tmp_path, frame, "sklearn")
    outside = tmp_path / "outside"
    outside.mkdir()
    np.arange(2, dtype=np.float32).tofile(outside / "model.bin")
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2])
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", _escape(location, outside / "model.bin")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx_file = next(root.glob("*.onnx"))
    onnx_file.write_bytes(model.SerializeToString())
    _edit(root, lambda s: s["files"].update({onnx_file.name: sha256_file(onnx_file)}))
    with pytest.raises(InvalidArgument, match=r"(?i)external data") as caught:
        load(root, runtime="onnx")
    assert caught.value.field == "onnx.file"


@pytest.mark.parametrize("kind", ["fifo", "hard link", "hard link to model.yaml"])
def test_special_files_and_hard_links_in_the_folder_are_refused(
    tmp_path: Path, frame: pd.DataFrame, kind: str
) -> None:
    """A FIFO would hang the hash (or the loader) forever; a hard link shares its bytes with a
    file outside the folder, which can change them after the check."""
    import os

    from modelyard.models.directory import sha256_file

    root = _model_folder(tmp_path, frame, "sklearn")
    outside = tmp_path / "outside.txt"
    outside.write_text('{"data": [[0.1, 0.2]], "dtype": "float64"}')
    if kind == "fifo":
        os.mkfifo(root / "pipe")
        _edit(root, lambda s: s["files"].update(pipe="0" * 64))
    elif kind == "hard link":
        os.link(outside, root / "hl.json")
        _edit(root, lambda s: s["files"].update({"hl.json": sha256_file(outside)}))
        _edit(root, lambda s: s.update(input_example="hl.json"))
    else:
        os.link(root / "model.yaml", tmp_path / "elsewhere.yaml")
    with pytest.raises(TamperedModel, match=r"regular file|hard link"):
        load(root)
