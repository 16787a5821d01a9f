"""The run search filter language: trees for every form, exact error positions, ORDER BY."""

from __future__ import annotations

import base64
import json

import pytest

from modelyard.errors import FilterSyntaxError, InvalidArgument
from modelyard.platform.search.ast import And, Comparison, Not, Or, OrderKey
from modelyard.platform.search.paging import (
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from modelyard.platform.search.parser import (
    parse_filter,
    parse_order_by,
    render,
    render_order_key,
)


def cmp(entity: str, key: str, op: str, value: object = None) -> Comparison:
    return Comparison(entity, key, op, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "metrics.auc > 0.9 and params.max_depth = '8'",
            And((cmp("metric", "auc", ">", 0.9), cmp("param", "max_depth", "=", "8"))),
        ),
        ("""tags."my tag" LIKE 'prod%'""", cmp("tag", "my tag", "LIKE", "prod%")),
        ("params.`learning rate` != '0.1'", cmp("param", "learning rate", "!=", "0.1")),
        ("params.lr <> '0.1'", cmp("param", "lr", "!=", "0.1")),
        (
            "attributes.status IN ('FINISHED', 'FAILED')",
            cmp("attribute", "status", "IN", ("FINISHED", "FAILED")),
        ),
        ("tags.owner IS NULL", cmp("tag", "owner", "IS NULL")),
        ("metrics.loss IS NOT NULL", cmp("metric", "loss", "IS NOT NULL")),
        ("run_name ILIKE '%baseline%'", cmp("attribute", "run_name", "ILIKE", "%baseline%")),
        (
            "(metrics.a < 1 or metrics.b >= 2) and not tags.x = 'y'",
            And(
                (
                    Or((cmp("metric", "a", "<", 1.0), cmp("metric", "b", ">=", 2.0))),
                    Not(cmp("tag", "x", "=", "y")),
                )
            ),
        ),
        ("metrics.val/loss <= -1e-3", cmp("metric", "val/loss", "<=", -0.001)),
        ("metrics.a.b = +2.5E2", cmp("metric", "a.b", "=", 250.0)),
        ("metric.m>=.5", cmp("metric", "m", ">=", 0.5)),
        ("param.p NOT LIKE 'x%'", cmp("param", "p", "NOT LIKE", "x%")),
        ("tag.t not ilike 'X%'", cmp("tag", "t", "NOT ILIKE", "X%")),
        ("tags.t NOT IN ('a', \"b\")", cmp("tag", "t", "NOT IN", ("a", "b"))),
        ("metrics.m in (1, 2.5, -3)", cmp("metric", "m", "IN", (1.0, 2.5, -3.0))),
        ("attr.start_time > 1700000000000", cmp("attribute", "start_time", ">", 1700000000000)),
        ("run.experiment_id = 1e3", cmp("attribute", "experiment_id", "=", 1000)),
        ("attribute.end_time IS NULL", cmp("attribute", "end_time", "IS NULL")),
        ("status = 'RUNNING'", cmp("attribute", "status", "=", "RUNNING")),
        ("run_id = 'abc'", cmp("attribute", "run_id", "=", "abc")),
        ("tags.x = 'it''s'", cmp("tag", "x", "=", "it's")),
        ('tags.x = "say ""hi"""', cmp("tag", "x", "=", 'say "hi"')),
        ("tags.`a``b` = 'v'", cmp("tag", "a`b", "=", "v")),
        ("tags.\"a.b c\" = 'v'", cmp("tag", "a.b c", "=", "v")),
        ("`tags.x y` = 'v'", cmp("tag", "x y", "=", "v")),
        ("params.p > 'b'", cmp("param", "p", ">", "b")),
        ("tags.é = 'ü'", None),  # non-ASCII bare words are rejected; see the error tests
    ],
)
def test_each_form_parses_to_its_tree(text: str, tree: object) -> None:
    if tree is None:
        with pytest.raises(FilterSyntaxError):
            parse_filter(text)
        return
    assert parse_filter(text) == tree
    assert parse_filter(render(parse_filter(text))) == tree  # type: ignore[arg-type]


def test_keywords_and_entities_are_case_insensitive() -> None:
    lower = parse_filter("metrics.a is not null and not params.b like 'x' or tags.c in ('d')")
    upper = parse_filter("METRICS.a IS NOT NULL AND NOT PARAMS.b LIKE 'x' OR Tags.c In ('d')")
    assert lower == upper
    assert lower == Or(
        (
            And((cmp("metric", "a", "IS NOT NULL"), Not(cmp("param", "b", "LIKE", "x")))),
            cmp("tag", "c", "IN", ("d",)),
        )
    )


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    a, b, c = (cmp("metric", k, ">", 0.0) for k in "abc")
    assert parse_filter("metrics.a > 0 or metrics.b > 0 and metrics.c > 0") == Or((a, And((b, c))))
    assert parse_filter("not metrics.a > 0 and metrics.b > 0") == And((Not(a), b))
    assert parse_filter("not (metrics.a > 0 and metrics.b > 0)") == Not(And((a, b)))
    assert parse_filter("metrics.a > 0 and (metrics.b > 0 and metrics.c > 0)") == And(
        (a, And((b, c)))
    )


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_no_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("metrics.auc = '0.9'", 14, "metric values are numbers"),
        ("metricz.a = 1", 0, "unknown entity 'metricz' (expected metrics, params, tags or attr"),
        ("foo = 'x'", 0, "unknown attribute 'foo'"),
        ("attributes.colour = 'x'", 0, "run_id, run_name, status"),
        ("metrics.a foo 1", 10, "expected a comparison operator, found 'foo'"),
        ("metrics.a", 9, "unexpected end of filter"),
        ("tags.x = 'abc", 9, "unterminated string"),
        ("tags.`abc = 'x'", 5, "unterminated quoted key"),
        ("(metrics.a > 1", 14, "expected ')'"),
        ("(metrics.a > 1 metrics.b > 2)", 15, "expected ')', found 'metrics.b'"),
        ("metrics.a > 1)", 13, "unexpected ')'"),
        ("metrics.a > 1 metrics.b > 2", 14, "expected AND, OR or end of filter"),
        ("metrics.a > 1 and", 17, "unexpected end of filter"),
        ("metrics.a = nan", 12, "metric values are finite numbers, found 'nan'"),
        ("metrics.a = inf", 12, "finite numbers"),
        ("metrics.a < -inf", 12, "finite numbers"),
        ("metrics.a < 1e999", 12, "finite numbers"),
        ("metrics.a LIKE '1%'", 10, "LIKE applies to strings"),
        ("start_time ILIKE '1%'", 11, "ILIKE applies to strings"),
        ("params.p = 8", 11, "param values are strings"),
        ("tags.t = prod", 9, "tag values are quoted strings"),
        ("status = 'DONE'", 9, "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"),
        ("status IN ('FAILED', 'done')", 21, "status values are one of"),
        ("start_time > '5'", 13, "start_time values are numbers"),
        ("start_time > 1.5", 13, "start_time values are integers"),
        ("experiment_id = 99999999999999999999", 16, "64-bit integers"),
        ("metrics.a IN ()", 14, "expected a value"),
        ("metrics.a IN (1,)", 16, "expected a value"),
        ("metrics.a IN 1", 13, "expected '(' starting the list"),
        ("metrics.a IN (1 2)", 16, "expected ',' or ')'"),
        ("tags.x IS 'y'", 10, "expected NULL or NOT NULL after IS"),
        ("tags.x IS NOT 'y'", 14, "expected NULL after IS NOT"),
        ("tags.x NOT = 'y'", 11, "expected LIKE, ILIKE or IN after NOT"),
        ("tags. 'x' = 'y'", 5, "expected a key name after 'tags.'"),
        ("tags.'x' = 'y'", 5, "expected a key name after 'tags.'"),
        ("tags.`` = 'y'", 0, "empty tag key"),
        ("'x' = 'y'", 0, "expected a key"),
        ("metrics.a = 1 and @", 18, "unexpected character '@'"),
        ("metrics.a ! 1", 10, "unexpected character '!'"),
        ("= 1", 0, "expected a key"),
        ("()", 1, "expected a key"),
        ("not", 3, "unexpected end of filter"),
    ],
)
def test_errors_point_at_the_offending_token(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert caught.value.text == text
    assert caught.value.field == "filter"
    assert "\n  " + " " * position + "^" in caught.value.message


def test_too_long_and_too_deep_filters_are_clear_errors() -> None:
    with pytest.raises(FilterSyntaxError, match="longer than 10000 characters"):
        parse_filter("metrics.a > 1 and " * 600 + "metrics.a > 1")
    deep = "(" * 51 + "metrics.a > 1" + ")" * 51
    with pytest.raises(FilterSyntaxError, match="nested more than 50 levels") as caught:
        parse_filter(deep)
    assert caught.value.position == 50
    assert parse_filter("(" * 50 + "metrics.a > 1" + ")" * 50) == cmp("metric", "a", ">", 1.0)
    with pytest.raises(FilterSyntaxError, match="nested more than 50 levels"):
        parse_filter("not " * 2000 + "metrics.a > 1")
    with pytest.raises(FilterSyntaxError, match="nested"):
        parse_filter("(" * 5000)


def test_long_flat_chains_stay_flat() -> None:
    text = " or ".join(f"metrics.m{i} > {i}" for i in range(400))
    tree = parse_filter(text)
    assert isinstance(tree, Or)
    assert len(tree.operands) == 400
    assert parse_filter(render(tree)) == tree


def test_render_is_canonical() -> None:
    tree = parse_filter("tags.`my tag` like 'it''s%' AND (metric.a<>1 OR NOT run_name = 'x')")
    assert tree is not None
    assert render(tree) == (
        "tags.`my tag` LIKE 'it''s%' AND (metrics.a != 1.0 OR NOT attributes.run_name = 'x')"
    )


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("metrics.auc DESC", OrderKey("metric", "auc", False)),
        ("params.lr", OrderKey("param", "lr", True)),
        ("attributes.start_time ASC", OrderKey("attribute", "start_time", True)),
        ("`tags.x y` desc", OrderKey("tag", "x y", False)),
        ('tags."x y" Desc', OrderKey("tag", "x y", False)),
        ("start_time", OrderKey("attribute", "start_time", True)),
        ("metric.val/loss asc", OrderKey("metric", "val/loss", True)),
    ],
)
def test_order_by_items(item: str, key: OrderKey) -> None:
    assert parse_order_by([item]) == [key]
    assert parse_order_by([render_order_key(key)]) == [key]


@pytest.mark.parametrize(
    ("item", "position", "fragment"),
    [
        ("metricz.auc DESC", 0, "unknown entity 'metricz'"),
        ("attributes.colour", 0, "unknown attribute 'colour'"),
        ("metrics.auc DESC extra", 17, "expected ASC, DESC or end of item"),
        ("metrics.auc DOWN", 12, "expected ASC, DESC or end of item, found 'DOWN'"),
        ("", 0, "unexpected end of filter"),
        ("metrics.auc = 1", 12, "expected ASC, DESC"),
    ],
)
def test_order_by_errors(item: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_order_by([item])
    assert caught.value.position == position
    assert caught.value.text == item
    assert fragment in caught.value.message


def test_order_by_none_is_empty() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []


def test_page_tokens_round_trip_and_reject_bad_tokens() -> None:
    fingerprint = query_fingerprint([2, 1], "metrics.a > 1", ["metrics.a DESC"], "active")
    assert fingerprint == query_fingerprint([1, 2], "metrics.a > 1 ", ["metrics.a DESC"], "active")
    other = query_fingerprint([1, 2], "metrics.a > 2", ["metrics.a DESC"], "active")
    assert other != fingerprint
    token = encode_page_token(100, fingerprint)
    assert decode_page_token(token, fingerprint) == 100
    with pytest.raises(InvalidArgument, match="belongs to another search") as caught:
        decode_page_token(token, other)
    assert caught.value.field == "page_token"

    def forge(body: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()

    for bad in [
        "",
        "not a token!",
        "é",
        "x" * 5000,
        forge([1]),
        forge({"offset": -1, "query": fingerprint}),
        forge({"offset": "1", "query": fingerprint}),
        forge({"offset": True, "query": fingerprint}),
        forge({"offset": 1.5, "query": fingerprint}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            decode_page_token(bad, fingerprint)
        assert caught.value.field == "page_token"
    with pytest.raises(InvalidArgument):
        encode_page_token(-1, fingerprint)
