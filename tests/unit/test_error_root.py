"""Errors a user can meet are of modelyard's root (``ModelyardError``): a message, a field, an
HTTP status and an exit code. A bare ``raise ValueError(...)`` in the package is either on the
list below, with the reason it is not a user's error, or a finding."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import modelyard

PACKAGE = Path(modelyard.__file__).parent

# (path under the package, exception) -> why it is not a user-facing error
ALLOWED = {
    ("__init__.py", "AttributeError"): "module __getattr__: the protocol requires it",
    ("lazy.py", "AttributeError"): "module __getattr__: the protocol requires it",
    ("monitoring/shift/findings.py", "KeyError"): "report['column']: the mapping protocol",
    ("data/schema.py", "KeyError"): "schema['column']: the mapping protocol",
    ("webapi/deadline.py", "ValueError"): "a programming error in the server's own set-up",
    ("serving/runtime/batching.py", "ValueError"): "a programming error in the server's own set-up",
    (
        "serving/runtime/batching.py",
        "RuntimeError",
    ): "caught by the runtime, answered as a model fault",
    ("models/signature.py", "ValueError"): "caught in place, raised as InvalidArgument",
    (
        "serving/protocol/codec.py",
        "ValueError",
    ): "caught by the codec, answered as 400 naming the input",
    ("store/migrate.py", "RuntimeError"): "a broken install (two migration heads): a bug",
    ("store/migrations/env.py", "RuntimeError"): "alembic run by hand, outside modelyard",
    ("serving/predlog/writer.py", "OSError"): "a retried race with the shipper, caught in place",
    ("htmlpage/shell.py", "ValueError"): "a programming error in our own page code",
    ("outbound/post.py", "TimeoutError"): "caught in place: the deadline, a failed delivery",
}


def _bare_raises() -> set[tuple[str, str]]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.id if isinstance(target, ast.Name) else None
            kind = getattr(builtins, name, None) if name else None
            if (
                isinstance(kind, type)
                and issubclass(kind, BaseException)
                and kind not in (AssertionError, NotImplementedError)
            ):
                found.add((path.relative_to(PACKAGE).as_posix(), str(name)))
    return found


def test_no_builtin_exception_escapes_the_root() -> None:
    unexpected = _bare_raises() - set(ALLOWED)
    assert not unexpected, f"raise a ModelyardError subclass instead: {sorted(unexpected)}"


def test_the_list_has_no_stale_entries() -> None:
    assert set(ALLOWED) <= _bare_raises()
