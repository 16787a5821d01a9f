"""JSON request bodies as the inference server reads them: orjson, plus one value per key.

orjson keeps the last of two equal keys, so ``{"inputs": [...], "inputs": [...]}`` would be
answered as if the first were never sent. Every key in a body has exactly one ``:`` after it,
so when the body holds no more ``:`` than the parsed objects hold keys, no key was repeated:
that comparison (a byte count and a walk over the objects, not the data) keeps the common
request on the fast path. A body with more (a colon inside a string, or a repeated key) is
parsed once more with the standard library, which sees every key, and a repeated one is an
``InvalidArgument`` (400) naming it. A body that is not JSON is one for ``body`` that says
where it breaks.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

import numpy as np
import orjson

from modelyard.errors import InvalidArgument

_COLON = ord(":")
_CONTAINERS = (dict, list)
_DEEP = 64  # rows (inputs, records) whose nested objects are counted too


def load(body: bytes, named: Collection[str] = ()) -> Any:
    """The JSON value of ``body``; ``InvalidArgument`` if it is not JSON or repeats a key.
    A repeat in an object with a ``name`` and only keys from ``named`` (a protocol tensor)
    is reported as ``<name>.<key>``, any other as the key."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(_broken(body, exc), field="body") from None
    if _colons(body) > _keys(doc):
        _check_repeats(body, frozenset(named))
    return doc


def _colons(body: bytes) -> int:
    """How many ``:`` the body holds (numpy counts a byte five times faster than bytes)."""
    return int(np.count_nonzero(np.frombuffer(body, dtype=np.uint8) == _COLON))


def _broken(body: bytes, exc: orjson.JSONDecodeError) -> str:
    where = f"line {exc.lineno}, column {exc.colno}"
    found = body[exc.pos : exc.pos + 12].decode("utf-8", "replace")
    hint = ""
    if found.lstrip("-").startswith(("NaN", "Infinity")):
        hint = " (NaN and Infinity are not JSON)"
    near = f" near {found!r}" if found else " (the body ends there)"
    return f"the body is not valid JSON at {where}{near}: {exc.msg}{hint}"


def _keys(value: Any) -> int:
    """The keys in the objects of ``value``, not looking into lists that do not start with
    an object (the data), nor into the values of rows past the first ``_DEEP``: a count that
    can only be too low, which costs the slow check, never a missed repeat."""
    if type(value) is dict:
        return len(value) + sum(_keys(v) for v in value.values() if type(v) in _CONTAINERS)
    if type(value) is list and value and type(value[0]) is dict:
        rows = [v for v in value if type(v) is dict]
        return sum(map(len, rows)) + sum(
            _keys(v) for row in rows[:_DEEP] for v in row.values() if type(v) in _CONTAINERS
        )
    return 0


class _Repeated(Exception):
    """A key seen twice: raised from the parser's hook, never out of this module."""

    def __init__(self, key: str, owner: str | None) -> None:
        self.key, self.owner = key, owner


def _unique(named: frozenset[str], pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            name = out.get("name")
            owned = isinstance(name, str) and all(k in named for k, _ in pairs)
            raise _Repeated(key, name if owned else None)
        out[key] = value
    return out


def _check_repeats(body: bytes, named: frozenset[str]) -> None:
    try:
        json.loads(body, object_pairs_hook=functools.partial(_unique, named))
    except _Repeated as exc:
        field = f"{exc.owner}.{exc.key}" if exc.owner else exc.key
        within = f" in {exc.owner!r}" if exc.owner else ""
        raise InvalidArgument(
            f"key {exc.key!r} is given twice{within}; a JSON object names each key once",
            field=field,
        ) from None
    except RecursionError:
        raise InvalidArgument("the body is nested too deeply", field="body") from None
    except ValueError:  # what orjson read, the standard library reads too; never half-checked
        raise InvalidArgument("the body is not valid JSON", field="body") from None
