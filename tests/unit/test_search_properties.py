"""Properties of the search parser: render/parse round-trips, and no input escapes as a crash."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from modelyard.errors import FilterSyntaxError
from modelyard.platform.search.ast import (
    ATTRIBUTE_KINDS,
    RUN_STATUSES,
    And,
    Comparison,
    Expr,
    Not,
    Or,
    OrderKey,
)
from modelyard.platform.search.parser import (
    parse_filter,
    parse_order_by,
    render,
    render_order_key,
)
from modelyard.tracking.run_search import compile_filter

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

NASTY_STRINGS = [
    "x' OR '1'='1",
    "'; DROP TABLE runs; --",
    '"; DROP TABLE runs; --',
    "`",
    "''",
    '""',
    "%",
    "_%\\",
    "\\",
    " ",
    "",
    "métrique ✓ 模型",
    "a.b c",
    "and",
    "NOT",
    "(",
]

keys = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from([s for s in NASTY_STRINGS if s]),
    st.from_regex(r"[A-Za-z0-9_.\-/:]{1,12}", fullmatch=True),
)
strings = st.one_of(st.text(max_size=16), st.sampled_from(NASTY_STRINGS))
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">="]
STRING_OPS = [*NUMBER_OPS, "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"]


def comparisons_of(entity: str, key: st.SearchStrategy[str], kind: str) -> st.SearchStrategy[Any]:
    scalar: st.SearchStrategy[Any] = {"float": finite_floats, "int": int64, "str": strings}[kind]
    ops = STRING_OPS if kind == "str" else NUMBER_OPS
    return st.one_of(
        st.builds(Comparison, st.just(entity), key, st.sampled_from(ops), scalar),
        st.builds(
            Comparison,
            st.just(entity),
            key,
            st.sampled_from(["IN", "NOT IN"]),
            st.lists(scalar, min_size=1, max_size=4).map(tuple),
        ),
        st.builds(
            Comparison, st.just(entity), key, st.sampled_from(["IS NULL", "IS NOT NULL"]), st.none()
        ),
    )


status_comparisons = st.one_of(
    st.builds(
        Comparison,
        st.just("attribute"),
        st.just("status"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(RUN_STATUSES),
    ),
    st.builds(
        Comparison,
        st.just("attribute"),
        st.just("status"),
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(st.sampled_from(RUN_STATUSES), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(
        Comparison,
        st.just("attribute"),
        st.just("status"),
        st.sampled_from(["<", "LIKE", "NOT ILIKE"]),
        strings,
    ),
)

comparisons = st.one_of(
    comparisons_of("metric", keys, "float"),
    comparisons_of("param", keys, "str"),
    comparisons_of("tag", keys, "str"),
    *(
        comparisons_of("attribute", st.just(name), kind)
        for name, kind in ATTRIBUTE_KINDS.items()
        if name != "status"
    ),
    status_comparisons,
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    operands = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(And, operands), st.builds(Or, operands), st.builds(Not, children))


trees: st.SearchStrategy[Expr] = st.recursive(comparisons, _extend, max_leaves=12)


@PROPERTY_SETTINGS
@given(trees)
def test_render_then_parse_gives_the_same_tree(tree: Expr) -> None:
    text = render(tree)
    assert parse_filter(text) == tree
    assert render(parse_filter(text)) == text  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(trees)
def test_every_valid_tree_compiles_with_bound_values_only(tree: Expr) -> None:
    condition = compile_filter(tree)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = sa.select(sa.literal_column("1")).where(condition).compile(dialect=dialect)
        assert "DROP TABLE" not in str(compiled)


@PROPERTY_SETTINGS
@given(
    st.builds(
        OrderKey,
        st.sampled_from(["metric", "param", "tag"]),
        keys,
        st.booleans(),
    )
    | st.builds(
        OrderKey, st.just("attribute"), st.sampled_from(list(ATTRIBUTE_KINDS)), st.booleans()
    )
)
def test_order_keys_round_trip(key: OrderKey) -> None:
    assert parse_order_by([render_order_key(key)]) == [key]


def _parses_or_fails_cleanly(text: str) -> None:
    try:
        parse_filter(text)
    except FilterSyntaxError as err:
        assert 0 <= err.position <= len(text)
        assert err.text == text[: len(err.text)]
        assert err.field == "filter"
    try:
        parse_order_by([text])
    except FilterSyntaxError as err:
        assert 0 <= err.position <= len(text)


@PROPERTY_SETTINGS
@given(st.text())
def test_arbitrary_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    _parses_or_fails_cleanly(text)


FRAGMENTS = [
    "metrics.a",
    "params.p",
    "tags.t",
    "attributes.status",
    "status",
    "start_time",
    "tags.",
    "metrics.`k`",
    'tags."k"',
    "`tags.x`",
    "and",
    "or",
    "not",
    "AND",
    "NOT",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "LIKE",
    "ILIKE",
    "IN",
    "IS",
    "NULL",
    "'x'",
    "'FINISHED'",
    '"y"',
    "'",
    '"',
    "`",
    "1",
    "-1",
    "1.5e3",
    "+.5",
    "nan",
    "-inf",
    "1e999",
    "99999999999999999999",
    "@",
    "é",
    " ",
]


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map(" ".join))
def test_token_soup_parses_or_raises_filter_syntax_error(text: str) -> None:
    _parses_or_fails_cleanly(text)


@PROPERTY_SETTINGS
@given(trees, st.data())
def test_damaged_filters_fail_cleanly(tree: Expr, data: st.DataObject) -> None:
    text = render(tree)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    insert = data.draw(st.sampled_from(["", "'", '"', "`", "(", ")", "x", " and", "\\"]))
    drop = data.draw(st.integers(min_value=0, max_value=3))
    _parses_or_fails_cleanly(text[:cut] + insert + text[cut + drop :])


def test_nesting_far_beyond_the_limit_is_a_filter_error() -> None:
    for text in ["(" * 9000, "not " * 2400, "(not " * 1900, "((" * 4000 + "metrics.a > 1"]:
        _parses_or_fails_cleanly(text)
