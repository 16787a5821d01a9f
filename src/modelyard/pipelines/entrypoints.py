"""Finding a pipeline's code from an entrypoint: ``path/to/file.py:name`` or
``package.module:name``. What a person types is loaded as typed; an entrypoint read from the
store (a retry) is loaded only when it names code inside the current folder, so a stored
string never picks which installed module this process imports. Either way the object found
must be a ``Pipeline``."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, ModelyardError
from modelyard.pipelines.decorators import FILE_MODULE_PREFIX, Pipeline

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def load_pipeline(entrypoint: str, *, stored: bool = False) -> Pipeline:
    target, sep, attr = entrypoint.rpartition(":")
    if not sep or not target or not attr:
        raise InvalidArgument(
            f"entrypoint {entrypoint!r} must look like path/to/file.py:pipeline or "
            "package.module:pipeline",
            field="entrypoint",
        )
    if target.endswith(".py"):
        module = _from_file(Path(target), stored)
    else:
        module = _from_module(target, stored)
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not isinstance(found, Pipeline):
        raise InvalidArgument(
            f"{entrypoint!r} is not a pipeline (decorate the function with @yard.pipeline)",
            field="entrypoint",
        )
    return found


def _inside_here(path: Path) -> bool:
    return path.resolve().is_relative_to(Path.cwd().resolve())


def _from_file(path: Path, stored: bool) -> Any:
    if not path.is_file():
        raise InvalidArgument(f"no file {str(path)!r}", field="entrypoint")
    if stored and not _inside_here(path):
        raise InvalidArgument(
            f"the run's pipeline code is {str(path)!r}, outside this folder; run the command "
            "from the project's folder or name the code with --from FILE.py:PIPELINE",
            field="entrypoint",
        )
    name = FILE_MODULE_PREFIX + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot load {str(path)!r} as Python", field="entrypoint")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the script's own imports, as when it is run
    try:
        spec.loader.exec_module(module)
    except ModelyardError:  # a decorator's own check, already one line naming its field
        sys.modules.pop(name, None)
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code failed at import: say where
        sys.modules.pop(name, None)
        raise _import_failed(str(path), exc) from None
    return module


def _import_failed(what: str, exc: BaseException) -> InvalidArgument:
    """One line: what failed to import, why, and the last line of the user's code it ran."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "importlib" not in f.filename]
    at = f" (at {own[-1].filename}:{own[-1].lineno})" if own else ""
    return InvalidArgument(
        f"importing {what} failed: {type(exc).__name__}: {exc}{at}", field="entrypoint"
    )


def _from_module(name: str, stored: bool) -> Any:
    if not _MODULE.fullmatch(name):
        raise InvalidArgument(
            f"{name!r} is neither a .py file nor a module name (package.module)",
            field="entrypoint",
        )
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if stored:
        spec = importlib.util.find_spec(name.split(".")[0])
        origin = getattr(spec, "origin", None) if spec is not None else None
        if origin is None or not _inside_here(Path(origin)):
            raise InvalidArgument(
                f"the run's pipeline code is module {name!r}, which is not inside this folder; "
                "name the code with --from MODULE:PIPELINE",
                field="entrypoint",
            )
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise InvalidArgument(f"cannot import {name!r}: {exc}", field="entrypoint") from None
    except ModelyardError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code failed at import: say where
        raise _import_failed(f"module {name}", exc) from None


def load_pipelines(target: str) -> list[Pipeline]:
    """What ``modelyard server --pipelines`` names: ``FILE.py`` or ``MODULE`` (every pipeline
    defined there), or ``FILE.py:NAME`` / ``MODULE:NAME`` (that one)."""
    head, sep, attr = target.rpartition(":")
    if sep and head and attr and (head.endswith(".py") or "/" not in attr):
        return [load_pipeline(target)]
    if target.endswith(".py"):
        module = _from_file(Path(target), False)
    else:
        module = _from_module(target, False)
    found = [v for v in vars(module).values() if isinstance(v, Pipeline)]
    if not found:
        raise InvalidArgument(
            f"{target!r} defines no pipeline (a function decorated with @yard.pipeline)",
            field="pipelines",
        )
    return sorted({p.name: p for p in found}.values(), key=lambda p: p.name)
