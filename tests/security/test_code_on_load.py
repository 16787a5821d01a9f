"""Code on load: a model file never runs code, or imports a module of its choosing, unless the
caller passed ``trusted=True``.

Each bad model is one a user could be handed (a file from a colleague, a run's artifacts
uploaded through the anonymous HTTP API). The invariant: loading it is refused with
``PermissionDenied`` naming what is not trusted, and the canary its code would write is never
written, not at load and not at the warm-up prediction that serving makes.
"""

from __future__ import annotations

import functools
import operator
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.io
import sklearn.datasets
import yaml
from numpy.testing._private import utils as numpy_test_utils
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from tests.fixtures.pymodels import Doubler

import modelyard as yard
from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.api import load, save_model
from modelyard.models.flavors.sklearn_trust import trusted_names


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.random(50), "b": rng.random(50)})


def _save(obj: Any, root: Path) -> Path:
    save_model(obj, root, flavor="sklearn", onnx=False)
    return root


def _canary_code(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').write('ran')"


# Objects a skops file may hold that name code: every one must need trusted=True. The issue's
# example first, then its class: functions from trusted-looking modules that read, write,
# exec, import or reach the network, builtins, the standard library, wrappers around them.
BAD_FUNCTIONS: list[tuple[str, Callable[..., Any]]] = [
    ("numpy runstring", numpy_test_utils.runstring),
    ("numpy load (pickle)", np.load),
    ("numpy save", np.save),
    ("numpy savetxt", np.savetxt),
    ("numpy fromfile", np.fromfile),
    ("numpy loadtxt", np.loadtxt),
    ("scipy savemat", scipy.io.savemat),
    ("scipy loadmat", scipy.io.loadmat),
    ("sklearn fetch_openml (network)", sklearn.datasets.fetch_openml),
    ("sklearn load_svmlight_file", sklearn.datasets.load_svmlight_file),
    ("builtins eval", eval),
    ("builtins exec", exec),
    ("builtins open", open),
    ("builtins __import__", __import__),
    ("os system", os.system),
    ("os remove", os.remove),
    ("subprocess getoutput", subprocess.getoutput),
    ("operator attrgetter", operator.attrgetter),
]


@pytest.mark.parametrize(("label", "func"), BAD_FUNCTIONS, ids=[b[0] for b in BAD_FUNCTIONS])
def test_a_stored_function_that_is_not_pure_computation_needs_trust(
    tmp_path: Path, label: str, func: Callable[..., Any]
) -> None:
    root = _save(
        make_pipeline(FunctionTransformer(np.squeeze), FunctionTransformer(func)), tmp_path / "m"
    )
    with pytest.raises(PermissionDenied, match="trusted=True") as caught:
        load(root)
    assert caught.value.field == "trusted"
    assert func.__name__ in caught.value.message  # the refusal names what it refused


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(lambda: SelectKBest(score_func=eval), id="score_func eval"),
        pytest.param(lambda: SelectKBest(score_func=os.system), id="score_func os.system"),
        pytest.param(
            lambda: FunctionTransformer(functools.partial(os.system, "true")), id="partial"
        ),
        pytest.param(lambda: FunctionTransformer(np.vectorize(print)), id="np.vectorize(print)"),
        pytest.param(lambda: FunctionTransformer(inverse_func=os.system), id="inverse_func"),
        pytest.param(lambda: make_pipeline(Doubler(), LogisticRegression()), id="custom type"),
        pytest.param(
            lambda: FunctionTransformer(np.log1p, kw_args={"hook": os.system}), id="in kw_args"
        ),
    ],
)
def test_functions_and_types_anywhere_in_the_object_need_trust(
    tmp_path: Path, model: Callable[[], Any]
) -> None:
    root = _save(model(), tmp_path / "m")
    with pytest.raises(PermissionDenied, match="not known to be safe"):
        load(root)


def test_the_issue_exploit_runs_nothing_at_load_or_warm_up(tmp_path: Path) -> None:
    """The skops pipeline of the report: squeeze, then runstring on the input example."""
    canary = tmp_path / "canary"
    evil = make_pipeline(
        FunctionTransformer(np.squeeze),
        FunctionTransformer(numpy_test_utils.runstring, kw_args={"dict": {}}),
    )
    root = _save(evil, tmp_path / "m")
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="runstring"):
            model = load(root)
            model.predict(np.array(_canary_code(canary)))  # what a warm-up would do
        assert not canary.exists()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: FunctionTransformer(np.log1p), id="ufunc log1p"),
        pytest.param(lambda: FunctionTransformer(np.sqrt), id="ufunc sqrt"),
        pytest.param(
            lambda: FunctionTransformer(np.mean, kw_args={"axis": 1, "keepdims": True}), id="mean"
        ),
        pytest.param(lambda: SelectKBest(f_classif, k=1), id="score_func f_classif"),
    ],
)
def test_pure_functions_load_without_trust(
    tmp_path: Path, frame: pd.DataFrame, make: Callable[[], Any]
) -> None:
    x, y = frame.to_numpy(), (frame["a"] > 0.5).astype(int)
    fitted = make_pipeline(make(), LogisticRegression()).fit(x, y)
    loaded = load(_save(fitted, tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_native(x), fitted.predict(x))


@pytest.mark.slow
def test_every_scikit_learn_estimator_loads_without_trust(tmp_path: Path) -> None:
    """The allowlist is exact names, so it must cover what scikit-learn itself stores: every
    estimator that fits on plain data saves and loads with no trust asked."""
    import warnings

    import skops.io as sio
    from sklearn.utils import all_estimators

    from modelyard.models.flavors.sklearn_trust import untrusted

    x, y = sklearn.datasets.make_classification(120, 5, random_state=0)
    xr, yr = sklearn.datasets.make_regression(120, 5, random_state=0)
    refused, tried = {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls in all_estimators():
            fitted = None
            for xx, yy in ((x, y), (xr, yr)):
                try:
                    fitted = cls().fit(np.abs(xx), yy)
                    break
                except Exception:
                    fitted = None
            if fitted is None:
                continue
            try:
                data = sio.dumps(fitted)
            except Exception:
                continue
            tried += 1
            left = untrusted(sio.get_untrusted_types(data=data))
            if left:
                refused[name] = left
    assert tried > 150
    assert refused == {}


def test_the_allowlist_holds_exact_names_not_prefixes() -> None:
    names = trusted_names()
    assert "numpy.testing._private.utils.runstring" not in names
    assert not any(n.startswith(("builtins.", "os.", "posix.", "subprocess.")) for n in names)
    assert "numpy.mean" in names and "sklearn.tree._tree.Tree" in names


# --- python_function ----------------------------------------------------------------------


def _pyfunc_dir(tmp_path: Path, cls: str, extra: dict[str, Any] | None = None) -> Path:
    """A python_function model folder whose model.yaml names ``cls``."""
    from tests.fixtures.pymodels import AddOffset

    root = tmp_path / "py"
    save_model(AddOffset(), root, onnx=False)
    spec = yaml.safe_load((root / "model.yaml").read_text())
    spec["flavor_options"] = {"class": cls, "artifacts": {}, **(extra or {})}
    (root / "model.yaml").write_text(yaml.safe_dump(spec))
    return root


@pytest.fixture
def evil_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A module on sys.path whose import writes a canary (a module planted where the server
    runs, or one that is installed and does things when imported)."""
    folder = tmp_path / "site"
    folder.mkdir()
    canary = tmp_path / "imported"
    name = f"evil_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    (folder / f"{name}.py").write_text(
        f"open({str(canary)!r}, 'w').write('ran')\n"
        "from modelyard.models import PythonModel\n"
        "class Model(PythonModel):\n"
        "    def predict(self, data):\n"
        "        return data\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    yield name, canary
    sys.modules.pop(name, None)


def test_a_model_file_never_chooses_a_module_to_import(
    tmp_path: Path, evil_module: tuple[str, Path]
) -> None:
    name, canary = evil_module
    root = _pyfunc_dir(tmp_path, f"{name}:Model")
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="not imported in this process") as caught:
            load(root)
        assert caught.value.field == "class"
        assert not canary.exists() and name not in sys.modules


@pytest.mark.parametrize(
    ("cls", "error"),
    [
        ("os:system", PermissionDenied),
        ("builtins:eval", PermissionDenied),
        ("subprocess:Popen", PermissionDenied),
        ("antigravity:Fly", PermissionDenied),
        ("modelyard.models.flavors.pyfunc:PythonModel", PermissionDenied),  # the base class
        ("tests.fixtures.pymodels:Doubler", PermissionDenied),  # imported, not a PythonModel
        ("", InvalidArgument),
        (":", InvalidArgument),
        ("os", InvalidArgument),
        (":system", InvalidArgument),
    ],
)
def test_class_names_that_are_not_imported_python_models_are_refused(
    tmp_path: Path, cls: str, error: type[Exception]
) -> None:
    before = set(sys.modules)
    root = _pyfunc_dir(tmp_path, cls)
    with pytest.raises(error):
        load(root)
    assert "antigravity" not in set(sys.modules) - before


def test_an_imported_python_model_loads_and_trust_imports_the_rest(
    tmp_path: Path, evil_module: tuple[str, Path]
) -> None:
    root = _pyfunc_dir(tmp_path, "tests.fixtures.pymodels:Sleeper")
    assert load(root).flavor == "python_function"  # the user imported it: it loads
    name, canary = evil_module
    trusted = load(_pyfunc_dir(tmp_path / "t", f"{name}:Model"), trusted=True)
    assert canary.exists() and trusted.flavor == "python_function"  # the caller opted in


def test_serving_imports_only_the_modules_the_person_serving_names(
    tmp_path: Path, evil_module: tuple[str, Path]
) -> None:
    from modelyard.serving.app import ServingApp
    from modelyard.serving.config import ModelSource, ServeConfig

    name, canary = evil_module
    root = _pyfunc_dir(tmp_path, f"{name}:Model")
    config = ServeConfig([ModelSource(str(root), "m")], prediction_log=None)
    with pytest.raises(PermissionDenied, match=f"--import {name}|import '{name}'"):
        ServingApp(config)
    assert not canary.exists()
    app = ServingApp(
        ServeConfig([ModelSource(str(root), "m")], prediction_log=None, imports=[name])
    )
    assert canary.exists() and app.ready  # named on the command line: the user's own code
    with pytest.raises(InvalidArgument, match="dotted name"):
        ServeConfig([ModelSource(str(root), "m")], imports=["../x"])


def test_a_pickled_model_needs_trust(tmp_path: Path, frame: pd.DataFrame) -> None:
    root = tmp_path / "pickle"
    save_model(lambda df: df.sum(axis=1), root, flavor="python_function", onnx=False)
    with pytest.raises(PermissionDenied, match="pickle"):
        load(root)
    assert len(load(root, trusted=True).predict(frame)) == 50


def test_pytorch_native_files_need_trust(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 1))
    x = np.zeros((4, 3), dtype=np.float32)
    save_model(net, tmp_path / "net", input_example=x, onnx=False)
    with pytest.raises(PermissionDenied, match="unpickle"):
        load(tmp_path / "net", runtime="native")


# --- the same model through the anonymous HTTP API ----------------------------------------


def test_an_evil_model_registered_over_http_is_refused_by_load_and_serve(
    tmp_path: Path, server_factory: Any
) -> None:
    from modelyard.serving.app import ServingApp
    from modelyard.serving.config import ModelSource, ServeConfig

    canary = tmp_path / "canary"
    evil = make_pipeline(
        FunctionTransformer(np.squeeze),
        FunctionTransformer(numpy_test_utils.runstring, kw_args={"dict": {}}),
    )
    folder = _save(evil, tmp_path / "evil")
    server = server_factory()
    version = yard.models.register_model(folder, "evil", tracking_uri=server.url)
    assert version.version == 1 and version.model_digest
    with pytest.raises(PermissionDenied, match="runstring"):
        load("models:/evil/1", tracking_uri=server.url)
    config = ServeConfig(
        [ModelSource("models:/evil/1")], tracking_uri=server.url, prediction_log=None
    )
    with pytest.raises(PermissionDenied, match="runstring"):
        ServingApp(config)
    assert not canary.exists()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: CountVectorizer(input="filename"), id="CountVectorizer filename"),
        pytest.param(lambda: TfidfVectorizer(input="filename"), id="TfidfVectorizer filename"),
        pytest.param(lambda: HashingVectorizer(input="filename"), id="HashingVectorizer filename"),
        pytest.param(lambda: HashingVectorizer(input="file"), id="HashingVectorizer file"),
        pytest.param(
            lambda: make_pipeline(StandardScaler(), LogisticRegression(), memory="/tmp/x"),
            id="pipeline memory",
        ),
        pytest.param(
            lambda: ColumnTransformer([("t", CountVectorizer(input="filename"), "text")]),
            id="nested in a ColumnTransformer",
        ),
    ],
)
def test_settings_that_read_files_need_trust(tmp_path: Path, make: Callable[[], Any]) -> None:
    """Trusted classes with a setting that makes them open files (a vectorizer reading the
    path each row names): reading the server's files is refused like running code."""
    root = _save(make(), tmp_path / "m")
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="read or write files") as caught:
            load(root)
        assert caught.value.field == "trusted"


def _fitted_reader(kind: str) -> Any:
    """A fitted model whose *fitted* copy reads files: the constructor's parameters are clean,
    the attribute that predicts (``regressor_``, ``transformers_``, ``estimators_``) is not."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import VotingRegressor
    from sklearn.linear_model import LinearRegression

    docs, y = ["alpha beta", "gamma delta", "secret x", "beta beta"], [1.0, 2.0, 3.0, 4.0]
    text = pd.DataFrame({"text": docs})
    if kind == "TransformedTargetRegressor.regressor_":
        model = TransformedTargetRegressor(make_pipeline(CountVectorizer(), LinearRegression()))
        model.fit(docs, y)
        model.regressor_.steps[0][1].input = "filename"
    elif kind == "ColumnTransformer.transformers_":
        model = make_pipeline(
            ColumnTransformer([("t", CountVectorizer(), "text")]), LinearRegression()
        ).fit(text, y)
        model.steps[0][1].transformers_[0][1].input = "filename"
    elif kind == "VotingRegressor.estimators_":
        model = VotingRegressor([("a", make_pipeline(CountVectorizer(), LinearRegression()))]).fit(
            docs, y
        )
        model.estimators_[0].steps[0][1].input = "filename"
    elif kind == "Pipeline.memory after fit":
        model = make_pipeline(CountVectorizer(), LinearRegression()).fit(docs, y)
        model.memory = "/tmp/cache"
    else:
        raise AssertionError(kind)
    return model


@pytest.mark.parametrize(
    "kind",
    [
        "TransformedTargetRegressor.regressor_",
        "ColumnTransformer.transformers_",
        "VotingRegressor.estimators_",
        "Pipeline.memory after fit",
    ],
)
def test_fitted_attributes_that_read_files_need_trust(tmp_path: Path, kind: str) -> None:
    """Found by the cold review: only the constructor's parameters were walked, so a fitted
    copy set to read the file each row names served the server's files back."""
    from tests.fixtures.logged import sklearn_model  # noqa: F401 - the suite's own models load

    model = _fitted_reader(kind)
    root = tmp_path / "m"
    save_model(model, root, onnx=False)
    for _ in range(2):
        with pytest.raises(PermissionDenied) as caught:
            load(root)
        assert caught.value.field == "trusted"
        assert "read or write files" in caught.value.message


def test_an_object_nested_past_the_walk_is_refused_not_passed() -> None:
    from modelyard.models.flavors.sklearn_trust import unsafe_settings

    deep: Any = make_pipeline(StandardScaler(), LogisticRegression())
    for _ in range(100):
        deep = {"inner": deep}
    assert any("deeper" in f for f in unsafe_settings(deep))
    assert unsafe_settings(make_pipeline(StandardScaler(), LogisticRegression())) == []


def test_a_file_reading_vectorizer_never_reads_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root root bash")
    cv = CountVectorizer(input="filename", vocabulary=["root", "bash"])
    lr = LogisticRegression().fit(np.eye(2), [0, 1])
    root = tmp_path / "reader"
    save_model(make_pipeline(cv, lr), root, input_example=np.array([str(secret)]), onnx=False)
    with pytest.raises(PermissionDenied, match="input='filename'"):
        load(root)
    assert load(root, trusted=True).flavor == "sklearn"  # the owner can opt in


def test_serving_says_in_one_line_why_a_model_cannot_be_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused model names what would work for a server (it never loads with trust), and a
    model whose warm-up prediction fails is a one-line error naming it, not a traceback."""
    import importlib

    from modelyard.serving.app import ServingApp
    from modelyard.serving.config import ModelSource, ServeConfig

    folder = tmp_path / "site"
    folder.mkdir()
    name = f"broken_{os.getpid()}"
    (folder / f"{name}.py").write_text(
        "from modelyard.models import PythonModel\n"
        "class Model(PythonModel):\n"
        "    def predict(self, data):\n"
        "        raise FileNotFoundError('no such file: weights.bin')\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module(name)
    try:
        root = tmp_path / "m"
        save_model(module.Model(), root, input_example=pd.DataFrame({"x": [1.0]}), onnx=False)
        for _ in range(2):
            with pytest.raises(InvalidArgument, match=r"warm-up prediction .* FileNotFoundError"):
                ServingApp(ServeConfig([ModelSource(str(root), "m")], prediction_log=None))
        pickled = tmp_path / "p"
        save_model(lambda df: df, pickled, flavor="python_function", onnx=False)
        with pytest.raises(PermissionDenied, match="never loads with trust"):
            ServingApp(ServeConfig([ModelSource(str(pickled), "p")], prediction_log=None))
    finally:
        sys.modules.pop(name, None)
