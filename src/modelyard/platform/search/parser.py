"""Recursive-descent parser of run search filters and ORDER BY items, and its inverse ``render``.

Every malformed input raises ``FilterSyntaxError`` at the offending token; no other exception
escapes, and recursion is bounded by ``MAX_DEPTH`` so deep nesting is an error, not a crash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from modelyard.errors import FilterSyntaxError
from modelyard.platform.search.ast import (
    LIKE_OPS,
    LIST_OPS,
    NULL_OPS,
    RUNS,
    And,
    Comparison,
    Entity,
    Expr,
    Not,
    Op,
    Or,
    OrderKey,
    Scalar,
    Value,
    Vocabulary,
)
from modelyard.platform.search.lexer import WORD_RE, Token, quote, tokenize

MAX_FILTER_LENGTH = 10_000
MAX_DEPTH = 50

ENTITY_PREFIXES: dict[str, Entity] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
CANONICAL_PREFIX: dict[Entity, str] = {
    "metric": "metrics",
    "param": "params",
    "tag": "tags",
    "attribute": "attributes",
}
_SYMBOL_OPS: dict[str, Op] = {
    "=": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_WORD_OPS: dict[str, Op] = {"LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN"}
_NEGATED_WORD_OPS: dict[str, Op] = {"LIKE": "NOT LIKE", "ILIKE": "NOT ILIKE", "IN": "NOT IN"}
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def parse_filter(text: str | None, vocabulary: Vocabulary = RUNS) -> Expr | None:
    """The tree of ``text``; None when there is no filter (None, empty or blank)."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(
            f"filter is longer than {MAX_FILTER_LENGTH} characters ({len(text)})",
            text=text[:MAX_FILTER_LENGTH],
            position=MAX_FILTER_LENGTH,
        )
    parser = _Parser(text, vocabulary)
    expr = parser.or_expr()
    token = parser.peek()
    if token.kind == "rparen":
        parser.fail(token, "unexpected ')' (no matching '(')")
    if token.kind != "eof":
        parser.fail(token, f"expected AND, OR or end of filter, found {token.describe()}")
    return expr


def parse_order_by(items: Sequence[str] | None, vocabulary: Vocabulary = RUNS) -> list[OrderKey]:
    """One ``OrderKey`` per item such as ``"metrics.auc DESC"``; errors carry the item as text."""
    if items is None:
        return []
    keys: list[OrderKey] = []
    for item in items:
        if len(item) > MAX_FILTER_LENGTH:
            raise FilterSyntaxError(
                f"order_by item is longer than {MAX_FILTER_LENGTH} characters",
                text=item[:MAX_FILTER_LENGTH],
                position=MAX_FILTER_LENGTH,
            )
        parser = _Parser(item, vocabulary)
        entity, key = parser.key()
        ascending = True
        token = parser.peek()
        if token.kind == "word" and token.text.upper() in ("ASC", "DESC"):
            ascending = token.text.upper() == "ASC"
            parser.advance()
            token = parser.peek()
        if token.kind != "eof":
            parser.fail(token, f"expected ASC, DESC or end of item, found {token.describe()}")
        keys.append(OrderKey(entity, key, ascending))
    return keys


class _Parser:
    """Grammar (AND binds tighter than OR, NOT tighter than AND)::

    or_expr    := and_expr (OR and_expr)*
    and_expr   := unary (AND unary)*
    unary      := NOT unary | '(' or_expr ')' | comparison
    comparison := key operator [value | '(' value (',' value)* ')']
    """

    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self.text = text
        self.vocab = vocabulary
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != "eof":
            self.index += 1
        return token

    def fail(self, token: Token, message: str) -> NoReturn:
        raise FilterSyntaxError(message, text=self.text, position=token.start)

    def expected(self, what: str, token: Token) -> NoReturn:
        if token.kind == "eof":
            self.fail(token, f"unexpected end of filter: expected {what}")
        self.fail(token, f"expected {what}, found {token.describe()}")

    def keyword(self, token: Token, *words: str) -> bool:
        return token.kind == "word" and token.text.upper() in words

    # boolean structure

    def or_expr(self) -> Expr:
        operands = [self.and_expr()]
        while self.keyword(self.peek(), "OR"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Expr:
        operands = [self.unary()]
        while self.keyword(self.peek(), "AND"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Expr:
        token = self.peek()
        if self.keyword(token, "NOT") or token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                self.fail(token, f"filter is nested more than {MAX_DEPTH} levels deep")
            self.advance()
            if token.kind == "lparen":
                inner = self.or_expr()
                closing = self.peek()
                if closing.kind != "rparen":
                    self.expected("')'", closing)
                self.advance()
                expr: Expr = inner
            else:
                expr = Not(self.unary())
            self.depth -= 1
            return expr
        return self.comparison()

    # comparisons

    def comparison(self) -> Expr:
        entity, key = self.key()
        op_token = self.peek()
        op = self.operator()
        kind = self.value_kind(entity, key)
        if op in NULL_OPS:
            return Comparison(entity, key, op, None)
        if op in LIKE_OPS and kind != "str":
            what = "metrics" if entity == "metric" else f"attribute {key}"
            self.fail(op_token, f"{op} applies to strings; {what} holds numbers")
        value: Value = (
            self.value_list(entity, key)
            if op in LIST_OPS
            else self.value(entity, key, check_status=op in ("=", "!="))
        )
        return Comparison(entity, key, op, value)

    def key(self) -> tuple[Entity, str]:
        """``entity.name``, ``entity."quoted"``, ``"entity.quoted"`` or a bare attribute name."""
        token = self.advance()
        if token.kind in ("dquoted", "bquoted"):
            return self.split_key(token, token.value)
        if token.kind != "word":
            self.expected("a key such as metrics.auc or params.lr", token)
        following = self.peek()
        if (
            token.text.endswith(".")
            and token.text.count(".") == 1
            and token.text[:-1].lower() in ENTITY_PREFIXES
        ):
            if following.kind not in ("dquoted", "bquoted") or following.start != token.end:
                raise FilterSyntaxError(
                    f"expected a key name after {token.text!r}", text=self.text, position=token.end
                )
            self.advance()
            entity = ENTITY_PREFIXES[token.text[:-1].lower()]
            return entity, self.check_name(token, entity, following.value)
        return self.split_key(token, token.text)

    def split_key(self, token: Token, full: str) -> tuple[Entity, str]:
        prefix, dot, name = full.partition(".")
        if not dot:
            return "attribute", self.check_name(token, "attribute", full)
        entity = ENTITY_PREFIXES.get(prefix.lower())
        if entity is None or entity not in self.vocab.entities:
            allowed = [CANONICAL_PREFIX[e] for e in CANONICAL_PREFIX if e in self.vocab.entities]
            listed = (
                ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
            )
            self.fail(token, f"unknown entity {prefix!r} (expected {listed})")
        return entity, self.check_name(token, entity, name)

    def check_name(self, token: Token, entity: Entity, name: str) -> str:
        if not name:
            self.fail(token, f"empty {CANONICAL_PREFIX[entity][:-1]} key")
        if entity == "attribute" and name not in self.vocab.attributes:
            self.fail(
                token,
                f"unknown attribute {name!r} (expected one of: {', '.join(self.vocab.attributes)})",
            )
        return name

    def operator(self) -> Op:
        token = self.advance()
        if token.kind == "op":
            return _SYMBOL_OPS[token.text]
        word = token.text.upper() if token.kind == "word" else ""
        if word in _WORD_OPS:
            return _WORD_OPS[word]
        if word == "NOT":
            after = self.advance()
            if after.kind == "word" and after.text.upper() in _NEGATED_WORD_OPS:
                return _NEGATED_WORD_OPS[after.text.upper()]
            self.expected("LIKE, ILIKE or IN after NOT", after)
        if word == "IS":
            after = self.advance()
            if self.keyword(after, "NULL"):
                return "IS NULL"
            if self.keyword(after, "NOT"):
                null = self.advance()
                if self.keyword(null, "NULL"):
                    return "IS NOT NULL"
                self.expected("NULL after IS NOT", null)
            self.expected("NULL or NOT NULL after IS", after)
        self.expected("a comparison operator", token)

    def value_list(self, entity: Entity, key: str) -> tuple[Scalar, ...]:
        opening = self.advance()
        if opening.kind != "lparen":
            self.expected("'(' starting the list of values", opening)
        values = [self.value(entity, key, check_status=True)]
        while self.peek().kind == "comma":
            self.advance()
            values.append(self.value(entity, key, check_status=True))
        closing = self.advance()
        if closing.kind != "rparen":
            self.expected("',' or ')'", closing)
        return tuple(values)

    def value(self, entity: Entity, key: str, *, check_status: bool) -> Scalar:
        token = self.advance()
        kind = self.value_kind(entity, key)
        if token.kind == "word":
            expectation = {"str": "quoted strings", "float": "finite numbers", "int": "integers"}
            found = token.describe()
            self.fail(token, f"{_values_of(entity, key)} are {expectation[kind]}, found {found}")
        if token.kind not in ("string", "dquoted", "number"):
            self.expected("a value (a quoted string or a number)", token)
        if kind == "str":
            if token.kind == "number":
                self.fail(token, f"{_values_of(entity, key)} are strings: quote {token.text}")
            allowed = self.vocab.enums.get(key) if entity == "attribute" else None
            if check_status and allowed is not None and token.value not in allowed:
                self.fail(
                    token,
                    f"{key} values are one of {', '.join(allowed)}, found {token.text}",
                )
            return token.value
        if token.kind != "number":
            self.fail(token, f"{_values_of(entity, key)} are numbers, found string {token.text}")
        if kind == "float":
            number = float(token.text)
            if not math.isfinite(number):
                self.fail(token, f"metric values are finite numbers, found {token.text}")
            return number
        return self.integer(token, key)

    def value_kind(self, entity: Entity, key: str) -> str:
        if entity == "metric":
            return "float"
        if entity == "attribute":
            return self.vocab.attributes[key]
        return "str"

    def integer(self, token: Token, key: str) -> int:
        try:
            number = Decimal(token.text)
        except InvalidOperation:  # pragma: no cover - the lexer only lets numbers through
            self.fail(token, f"{key} values are integers, found {token.text}")
        if not _INT64_MIN <= number <= _INT64_MAX:
            self.fail(token, f"{key} values are 64-bit integers, found {token.text}")
        if number != number.to_integral_value():
            self.fail(token, f"{key} values are integers, found {token.text}")
        return int(number)


def _values_of(entity: Entity, key: str) -> str:
    return f"{key} values" if entity == "attribute" else f"{entity} values"


# rendering: the canonical text of a tree; parse_filter(render(t)) == t


def render(expr: Expr) -> str:
    """Canonical filter text for ``expr``; parsing it gives back an equal tree."""
    if isinstance(expr, Comparison):
        return _render_comparison(expr)
    if isinstance(expr, Not):
        return f"NOT {_render_child(expr.operand, (And, Or))}"
    if isinstance(expr, And):
        return " AND ".join(_render_child(child, (And, Or)) for child in expr.operands)
    return " OR ".join(_render_child(child, (Or,)) for child in expr.operands)


def render_key(entity: Entity, key: str) -> str:
    """``entity.key`` with the key backtick-quoted unless it is a plain word."""
    prefix = CANONICAL_PREFIX[entity]
    if WORD_RE.fullmatch(key):
        return f"{prefix}.{key}"
    return f"{prefix}.{quote(key, '`')}"


def render_order_key(order: OrderKey) -> str:
    """The ORDER BY item text of ``order``; ``parse_order_by`` reads it back."""
    return f"{render_key(order.entity, order.key)} {'ASC' if order.ascending else 'DESC'}"


def _render_child(child: Expr, grouped: tuple[type, ...]) -> str:
    text = render(child)
    return f"({text})" if isinstance(child, grouped) else text


def _render_comparison(cmp: Comparison) -> str:
    left = f"{render_key(cmp.entity, cmp.key)} {cmp.op}"
    if cmp.value is None:
        return left
    if isinstance(cmp.value, tuple):
        return f"{left} ({', '.join(_render_scalar(v) for v in cmp.value)})"
    return f"{left} {_render_scalar(cmp.value)}"


def _render_scalar(value: Scalar) -> str:
    if isinstance(value, str):
        return quote(value, "'")
    return repr(value)
