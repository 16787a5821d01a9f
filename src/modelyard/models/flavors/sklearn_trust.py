"""What a skops file may hold without ``trusted=True``: exact types and functions, never prefixes.

skops itself trusts plain containers, numpy arrays, ufuncs and most scikit-learn estimators;
``skops.io.get_untrusted_types`` names everything else in a file, and only what is named here
is accepted on top. The list holds classes scikit-learn builds inside fitted estimators (trees,
losses, kernels, distance metrics, optimizers), numpy and scipy data types, and functions that
compute and nothing else (reductions such as ``numpy.mean``, score functions such as
``f_classif``). A function from anywhere else (``numpy.testing``'s ``runstring``, ``builtins``,
``os``) names arbitrary code, so it is refused by name, however respectable its module.
Names are built from the objects themselves, so a scikit-learn release that moves an internal
class keeps it trusted, and one that drops it simply drops the name.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

# classes scikit-learn keeps inside fitted estimators, as "module:attr" of a public import path
_SKLEARN_PARTS = (
    "sklearn.tree._tree:Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor:TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning:_BinMapper",
    "sklearn.neighbors:KDTree",
    "sklearn.neighbors:BallTree",
    "sklearn.neural_network._stochastic_optimizers:AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers:SGDOptimizer",
    "sklearn.calibration:_CalibratedClassifier",
    "sklearn.calibration:_SigmoidCalibration",
    "sklearn.cluster._bisect_k_means:_BisectingTree",
    "sklearn.gaussian_process._gpc:_BinaryGaussianProcessClassifierLaplace",
    "sklearn.utils._bunch:Bunch",
)
# modules whose subclasses of one base are all data (module, base)
_SKLEARN_FAMILIES = (
    ("sklearn.gaussian_process.kernels", "Kernel"),
    ("sklearn._loss.loss", "BaseLoss"),
    ("sklearn._loss.link", "BaseLink"),
    ("sklearn.metrics._dist_metrics", "DistanceMetric64"),
    ("sklearn.metrics._dist_metrics", "DistanceMetric32"),
)
# numpy functions that only compute on arrays
_NUMPY_FUNCTIONS = """
    mean median average sum prod std var min max amin amax ptp percentile quantile nanmean
    nanmedian nansum nanstd nanvar nanmin nanmax nanpercentile nanquantile clip round around
    squeeze ravel asarray atleast_1d atleast_2d log log1p log2 log10 exp expm1 sqrt square abs
    absolute sign tanh arcsinh reciprocal cumsum diff
""".split()  # noqa: SIM905 - a word list reads better than 47 strings
# functions that only compute on arrays
_FUNCTIONS = (
    *(f"numpy:{name}" for name in _NUMPY_FUNCTIONS),
    "scipy._lib.array_api_compat.numpy._aliases:asarray",
    "scipy.special:expit",
    "scipy.special:logit",
    "scipy.special:softmax",
    "scipy.special:boxcox",
    "scipy.special:inv_boxcox",
    "sklearn.feature_selection:f_classif",
    "sklearn.feature_selection:f_regression",
    "sklearn.feature_selection:r_regression",
    "sklearn.feature_selection:chi2",
    "sklearn.feature_selection:mutual_info_classif",
    "sklearn.feature_selection:mutual_info_regression",
    "sklearn.cluster._kmeans:_kmeans_single_lloyd",
    "sklearn.cluster._kmeans:_kmeans_single_elkan",
)
_SCIPY_SPARSE = (
    "csr_matrix", "csc_matrix", "coo_matrix", "bsr_matrix", "dia_matrix", "dok_matrix",
    "lil_matrix", "csr_array", "csc_array", "coo_array", "bsr_array", "dia_array", "dok_array",
    "lil_array",
)  # fmt: skip
_NUMPY_TYPES = (
    "numpy:dtype",
    "numpy.random:RandomState",
    "numpy.random:Generator",
    "numpy.random:SeedSequence",
    "numpy.random:MT19937",
    "numpy.random:PCG64",
    "numpy.random:PCG64DXSM",
    "numpy.random:Philox",
    "numpy.random:SFC64",
    "scipy.interpolate:BSpline",
)


def name_of(obj: Any) -> str:
    """The name skops records for a class or function: its module, a dot, its name."""
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__name__', None)}"


def _resolve(target: str) -> Any | None:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None  # not in this release of the library: nothing to trust


@cache
def trusted_names() -> frozenset[str]:
    """Every type and function name accepted in a skops file without ``trusted=True``."""
    from sklearn.utils import all_estimators

    names = {name_of(cls) for _, cls in all_estimators()}
    dtypes = importlib.import_module("numpy.dtypes")
    names.update(name_of(getattr(dtypes, n)) for n in dir(dtypes) if n.endswith("DType"))
    sparse = importlib.import_module("scipy.sparse")
    names.update(name_of(getattr(sparse, n)) for n in _SCIPY_SPARSE if hasattr(sparse, n))
    for target in (*_SKLEARN_PARTS, *_NUMPY_TYPES, *_FUNCTIONS):
        found = _resolve(target)
        if found is not None:
            names.add(name_of(found))
    for module_name, base_name in _SKLEARN_FAMILIES:
        module = importlib.import_module(module_name)
        base = getattr(module, base_name, None)
        if base is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, base):
                names.add(name_of(value))
    return frozenset(names)


def untrusted(names: list[str]) -> list[str]:
    """The names in a file's untrusted list that are not on ours (sorted, each once)."""
    allowed = trusted_names()
    return sorted({n for n in names if n not in allowed})


# Settings that turn a trusted class into file or network I/O: the parameter's name, and the
# values that keep it pure computation. ``input="filename"`` makes a text vectorizer open the
# path each row names; ``memory`` caches fitted steps on disk.
_SAFE_SETTINGS: dict[str, tuple[Any, ...]] = {
    "input": ("content",),
    "memory": (None,),
}
_MAX_DEPTH = 64


def unsafe_settings(model: Any) -> list[str]:
    """``estimator.attr=value`` for every setting of every object inside ``model`` that would
    read or write files; empty when none. Every attribute is walked, not just the
    constructor's parameters: what predicts is the fitted copy (``regressor_``,
    ``transformers_``, ``estimators_``, ``steps``), and a file could set ``input`` there. A
    model nested deeper than the walk goes is refused rather than passed."""
    import numpy as np

    found: list[str] = []
    seen: set[int] = set()

    def visit(obj: Any, where: str, depth: int) -> None:
        if id(obj) in seen or obj is None or isinstance(obj, str | bytes | int | float | bool):
            return
        if depth > _MAX_DEPTH:
            found.append(f"{where}: nested deeper than {_MAX_DEPTH} levels")
            return
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                for i, item in enumerate(obj.flat):
                    visit(item, f"{where}[{i}]", depth + 1)
            return
        if isinstance(obj, list | tuple | set | frozenset):
            for i, item in enumerate(obj):
                visit(item, f"{where}[{i}]", depth + 1)
            return
        if isinstance(obj, dict):
            for key, item in obj.items():
                visit(item, f"{where}[{key!r}]", depth + 1)
            return
        attributes = getattr(obj, "__dict__", None)
        if not isinstance(attributes, dict):
            return
        for name, value in attributes.items():
            allowed = _SAFE_SETTINGS.get(name)
            if allowed is not None and not (
                (value is None and None in allowed) or (isinstance(value, str) and value in allowed)
            ):
                found.append(f"{where}.{name}={value!r}"[:200])
            visit(value, f"{where}.{name}", depth + 1)

    visit(model, type(model).__name__, 0)
    return found
