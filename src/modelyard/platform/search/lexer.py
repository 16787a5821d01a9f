"""Turns filter text into tokens, each with its 0-based start and end offsets.

The lexer knows no grammar: it never decides whether a word is a key or a keyword. Every fault
it finds is a ``FilterSyntaxError`` at the offending character; nothing else escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from modelyard.errors import FilterSyntaxError

TokenKind: TypeAlias = Literal[
    "word",  # bare run of [A-Za-z0-9_.\-/:]
    "number",  # a numeric literal, optionally signed
    "string",  # '...'
    "dquoted",  # "..." (a string value or a quoted key, by context)
    "bquoted",  # `...` (a quoted key)
    "op",  # = != <> < <= > >=
    "lparen",
    "rparen",
    "comma",
    "eof",
]

WORD_RE = re.compile(r"[A-Za-z0-9_.\-/:]+")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_QUOTES: dict[str, TokenKind] = {"'": "string", '"': "dquoted", "`": "bquoted"}
_PUNCTUATION: dict[str, TokenKind] = {"(": "lparen", ")": "rparen", ",": "comma"}


@dataclass(frozen=True)
class Token:
    """``text`` is the source slice; ``value`` is the unquoted content for quoted tokens."""

    kind: TokenKind
    text: str
    value: str
    start: int
    end: int

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind == "eof":
            return "end of filter"
        shown = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return repr(shown)


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with one ``eof`` token at ``len(text)``."""
    tokens: list[Token] = []
    pos = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos = token.end
    tokens.append(Token("eof", "", "", length, length))
    return tokens


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char in _QUOTES:
        return _quoted(text, pos)
    if char in _PUNCTUATION:
        return Token(_PUNCTUATION[char], char, char, pos, pos + 1)
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token("op", op, op, pos, pos + len(op))
    number = _NUMBER_RE.match(text, pos)
    if number is not None and not _continues_word(text, number.end()):
        return Token("number", number.group(), number.group(), pos, number.end())
    word = WORD_RE.match(text, pos)
    if word is not None:
        return Token("word", word.group(), word.group(), pos, word.end())
    raise FilterSyntaxError(f"unexpected character {char!r}", text=text, position=pos)


def _continues_word(text: str, pos: int) -> bool:
    return pos < len(text) and WORD_RE.match(text[pos]) is not None


def _quoted(text: str, start: int) -> Token:
    """A quoted token; the quote character doubled inside stands for itself."""
    quote = text[start]
    parts: list[str] = []
    pos = start + 1
    while True:
        close = text.find(quote, pos)
        if close < 0:
            what = "unterminated quoted key" if quote == "`" else "unterminated string"
            raise FilterSyntaxError(
                f"{what}: no closing {quote} for the one opened here", text=text, position=start
            )
        parts.append(text[pos:close])
        if text.startswith(quote, close + 1):
            parts.append(quote)
            pos = close + 2
            continue
        end = close + 1
        return Token(_QUOTES[quote], text[start:end], "".join(parts), start, end)


def quote(value: str, quote_char: str) -> str:
    """``value`` between ``quote_char``s, the quote doubled inside: the inverse of the lexer."""
    return quote_char + value.replace(quote_char, quote_char * 2) + quote_char
