"""Every public name is what it says, whatever was imported before it.

A lazily exported name (PEP 562) that shares its name with a submodule is shadowed once that
submodule is imported (the import system binds the module on the package), so the same
expression returns a function on the first call and a module on the second. These tests walk
every package: no exported name is a submodule's name, and each name resolves to the same
object before and after every submodule has been imported, in both orders, in a fresh
interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_WALK = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    import modelyard

    def packages():
        yield modelyard
        for info in pkgutil.walk_packages(modelyard.__path__, "modelyard."):
            if info.ispkg:
                yield importlib.import_module(info.name)

    def exported(pkg):
        return sorted(set(getattr(pkg, "__all__", ())) | set(getattr(pkg, "_EXPORTS", ())))

    def resolve_all():
        found = {}
        for pkg in packages():
            for name in exported(pkg):
                found[f"{pkg.__name__}.{name}"] = getattr(pkg, name)
        return found

    def import_everything():
        for info in pkgutil.walk_packages(modelyard.__path__, "modelyard."):
            # __main__ runs the CLI; migration scripts run only inside alembic
            if not info.name.endswith("__main__") and ".migrations." not in info.name:
                importlib.import_module(info.name)

    problems = []
    for pkg in packages():
        subs = {m.name for m in pkgutil.iter_modules(getattr(pkg, "__path__", []))}
        for name in set(exported(pkg)) & subs:
            problems.append(f"{pkg.__name__}.{name} is both an export and a submodule")
    if sys.argv[1] == "names-first":
        first = resolve_all()
        import_everything()
        second = resolve_all()
    else:
        import_everything()
        first = resolve_all()
        second = resolve_all()
    for key, value in first.items():
        if second[key] is not value:
            problems.append(f"{key} changed from {value!r} to {second[key]!r}")
        if type(value).__name__ == "module" and value.__name__ != key:
            problems.append(f"{key} is the module {value.__name__}")
    print(json.dumps({"names": len(first), "problems": problems}))
""")


@pytest.mark.parametrize("order", ["names-first", "modules-first"])
def test_every_exported_name_is_the_object_it_names(order: str) -> None:
    import json

    out = subprocess.run(
        [sys.executable, "-c", _WALK, order], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["names"] > 80, result  # the walk saw the whole surface
    assert result["problems"] == []


def test_drift_is_a_function_on_every_call() -> None:
    """The case that broke: the second ``yard.monitoring.drift(...)`` in one process."""
    import numpy as np
    import pandas as pd

    import modelyard as yard

    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    cur = pd.DataFrame({"x": rng.normal(size=500) + 2, "c": rng.choice(["a", "b"], 500)})
    reports = [yard.monitoring.drift(ref, cur) for _ in range(3)]
    assert all(r.to_dict() == reports[0].to_dict() for r in reports)
    assert reports[0].drifted_columns == ["x"]
