"""A step's code fingerprint: its own source and the source of what it uses from the project,
followed through helpers, classes, project modules, closures and global constants; plus the
versions of the installed packages it (or those helpers) reach. A change to a helper two calls
away changes the fingerprint, and so the cache key; comments, blank lines and the decorator's
arguments do not (sources are compared as syntax trees).

"The project" is code outside the interpreter's standard library and site-packages (and
outside modelyard itself): the user's scripts and packages, editable installs included.
The walk runs at every call, so a helper redefined in a notebook counts; what it reads per
definition (a syntax tree) is remembered by code object, which a redefinition replaces.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.metadata
import inspect
import sys
import sysconfig
import textwrap
import types
import weakref
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import orjson

_trees: dict[types.CodeType, str] = {}  # a function's tree, by its (immutable) code object
_classes: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()
_MAX_TREES = 10_000


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.add(str(__import__("pathlib").Path(__file__).resolve().parents[1]))  # modelyard
    return tuple(sorted(roots))


@lru_cache(maxsize=4096)
def _module_in_project(name: str) -> bool:
    if name == "__main__":
        return True
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if module is None or path is None or name in sys.builtin_module_names:
        return False
    resolved = str(__import__("pathlib").Path(path).resolve())
    return not any(resolved.startswith(root) for root in _library_roots())


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


@lru_cache(maxsize=1024)
def package_version(top: str) -> str | None:
    """``numpy==2.1.0`` for the top-level module ``numpy``; None for the standard library."""
    if top in sys.stdlib_module_names:
        return None
    for dist in _distributions().get(top, []):
        try:
            return f"{dist}=={importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def fingerprint(fn: Any) -> tuple[str, dict[str, str]]:
    """(sha256 of the code, {top-level package: "dist==version"}) for ``fn``."""
    walker = _Walker()
    walker.function(fn)
    parts = orjson.dumps(
        {"code": walker.sources, "python": f"{sys.version_info[0]}.{sys.version_info[1]}"},
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(parts).hexdigest()
    return digest, dict(sorted(walker.packages.items()))


def _tree(source: str) -> str:
    """The syntax tree of a definition without its decorators: what the code does."""
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            node.decorator_list = []
    return ast.dump(tree, include_attributes=False)


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    yield from code.co_freevars
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


class _Walker:
    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.packages: dict[str, str] = {}
        self.seen: set[int] = set()

    def function(self, fn: Any) -> None:
        fn = getattr(fn, "fn", fn)  # a Step: its function
        fn = inspect.unwrap(fn)
        if id(fn) in self.seen or not isinstance(fn, types.FunctionType):
            return
        self.seen.add(id(fn))
        self.sources[f"{fn.__module__}:{fn.__qualname__}"] = _source_of(fn)
        names = set(_names(fn.__code__))
        for name in sorted(names):
            if name in fn.__globals__:
                self.value(f"{fn.__module__}.{name}", fn.__globals__[name], names)
        for cell_name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                self.value(f"{fn.__qualname__}.<{cell_name}>", cell.cell_contents, names)
            except ValueError:  # an empty cell
                continue

    def value(self, label: str, obj: Any, names: set[str]) -> None:
        if isinstance(obj, types.ModuleType):
            self.module(obj, names)
            return
        owner = getattr(obj, "__module__", None)
        if hasattr(obj, "fn") and type(obj).__name__ == "Step":
            self.function(obj.fn)
        elif isinstance(obj, (types.FunctionType, type)):
            if isinstance(owner, str) and not _module_in_project(owner):
                self.package(owner)
            elif isinstance(obj, type):
                self.klass(obj)
            else:
                self.function(obj)
        elif _plain(obj):
            self.sources[label] = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        elif isinstance(owner, str):
            self.package(owner)

    def module(self, module: types.ModuleType, names: set[str]) -> None:
        if not _module_in_project(module.__name__):
            self.package(module.__name__)
            return
        for name in sorted(names):
            attr = getattr(module, name, None)
            if attr is not None and not isinstance(attr, types.ModuleType):
                self.value(f"{module.__name__}.{name}", attr, names)

    def klass(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        tree = _classes.get(cls)
        if tree is None:
            try:
                tree = _tree(inspect.getsource(cls))
            except (OSError, TypeError, SyntaxError):
                tree = "<no source>"
            with contextlib.suppress(TypeError):
                _classes[cls] = tree
        self.sources[f"{cls.__module__}:{cls.__qualname__}"] = tree
        for attr in vars(cls).values():
            if isinstance(attr, types.FunctionType):
                self.function(attr)

    def package(self, module_name: str) -> None:
        top = module_name.split(".")[0]
        if top not in self.packages and top != "modelyard":
            version = package_version(top)
            if version is not None:
                self.packages[top] = version


def _source_of(fn: types.FunctionType) -> str:
    known = _trees.get(fn.__code__)
    if known is None:
        known = _read_tree(fn)
        if len(_trees) >= _MAX_TREES:
            _trees.clear()
        _trees[fn.__code__] = known
    return known


def _read_tree(fn: types.FunctionType) -> str:
    try:
        return _tree(inspect.getsource(fn))
    except (OSError, TypeError, SyntaxError, IndentationError):
        code = fn.__code__  # no source (a REPL, exec): the bytecode and constants stand in
        return hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()


def _plain(obj: Any, depth: int = 0) -> bool:
    """A constant a step may read from its module: JSON-like and small."""
    kind = type(obj)  # exact types: an instance of a subclass is state, not a constant
    if obj is None or kind in (bool, int, float, str):
        return kind is not str or len(obj) < 10_000
    if depth > 3:
        return False
    if kind in (list, tuple):
        return len(obj) <= 1000 and all(_plain(v, depth + 1) for v in obj)
    if kind is dict:
        return len(obj) <= 1000 and all(
            isinstance(k, str) and _plain(v, depth + 1) for k, v in obj.items()
        )
    return False
