"""Properties of the inference server's JSON reading: a key given twice anywhere is refused
(the fast path's colon count never hides one, whatever the strings, nesting or spacing hold),
a body without one reads as orjson reads it, and a broken body names ``body`` and where."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.errors import InvalidArgument
from modelyard.serving.protocol import jsonbody


class Obj(list[tuple[str, Any]]):
    """A JSON object as written: its pairs in order, a key possibly twice."""


KEYS = st.sampled_from(["a", "b", "name", "data", "x:y", ":", 'q"', "é"])
TEXT = st.text(alphabet=st.sampled_from(list('ab:,{}[]" \\nétrufals')), max_size=8)
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT
SCALARS |= st.floats(allow_nan=False, allow_infinity=False)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(st.tuples(KEYS, inner), max_size=4).map(Obj)
    ),
    max_leaves=20,
)
SPACES = st.sampled_from(["", " ", "\n  ", "\t"])


def _write(value: Any, space: str) -> str:
    if isinstance(value, Obj):
        pairs = (f"{orjson.dumps(k).decode()}{space}:{space}{_write(v, space)}" for k, v in value)
        return "{" + f",{space}".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(_write(v, space) for v in value) + "]"
    return orjson.dumps(value).decode()


def _repeats(value: Any) -> bool:
    if isinstance(value, Obj):
        keys = [k for k, _ in value]
        return len(keys) != len(set(keys)) or any(_repeats(v) for _, v in value)
    if isinstance(value, list):
        return any(_repeats(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, Obj):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@settings(max_examples=400, deadline=None)
@given(VALUES, SPACES)
def test_a_repeated_key_is_refused_and_nothing_else(value: Any, space: str) -> None:
    body = _write(value, space).encode()
    if _repeats(value):
        with pytest.raises(InvalidArgument, match="is given twice"):
            jsonbody.load(body)
    else:
        assert jsonbody.load(body) == orjson.loads(body) == _plain(value)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"inputs": [1, 2', "line 1, column 17 (the body ends there)"),
        (b'{"a": 1,\n "b": }', "line 2, column 7 near '}'"),
        (b"[1, NaN]", "NaN and Infinity are not JSON"),
        (b"", "line 1, column 1"),
    ],
)
def test_a_broken_body_says_where(body: bytes, where: str) -> None:
    with pytest.raises(InvalidArgument, match="not valid JSON") as caught:
        jsonbody.load(body)
    assert caught.value.field == "body"
    assert where in caught.value.message


@pytest.mark.parametrize(
    ("body", "named", "field"),
    [
        (b'{"inputs": [{"name": "age", "data": [1], "data": [2]}]}', ("name", "data"), "age.data"),
        (b'[{"name": "bob", "age": 1, "age": 2}]', ("name", "data"), "age"),  # a record
        (b'[{"name": "bob", "age": 1, "age": 2}]', (), "age"),
    ],
)
def test_a_repeat_names_its_tensor_only_in_a_tensor(
    body: bytes, named: tuple[str, ...], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        jsonbody.load(body, named)
    assert caught.value.field == field


def test_rows_of_records_stay_on_the_fast_path() -> None:
    """1,000 records with no repeat and no colon in a string: counted, not parsed again."""
    records = [{"age": i, "income": i / 2} for i in range(1000)]
    body = orjson.dumps({"dataframe_records": records})
    assert jsonbody._colons(body) == jsonbody._keys(orjson.loads(body)) == 2001
