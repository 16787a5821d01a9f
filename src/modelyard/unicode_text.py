"""Characters a name must not hold because a person cannot see them, or sees something else.

A name, key or path is shown in listings, logs and pages, where a right-to-left override
(U+202E) makes ``txt.exe`` read ``exe.txt``, a zero-width space makes two different names look
alike, and a control or line separator breaks the line it is printed on. They are found by
what a character is (its Unicode category), not by a list of code points:

- ``Cc`` control characters, C0 and C1 (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``);
- ``Cf`` format characters: bidirectional embeddings, overrides, isolates and marks, zero
  width spaces, the byte order mark, invisible operators — except ZERO WIDTH NON-JOINER and
  ZERO WIDTH JOINER, which Persian, the Indic scripts and emoji sequences need;
- ``Zl`` and ``Zp``, the line and paragraph separators;
- ``Cs``, a lone surrogate (not valid UTF-8).
"""

from __future__ import annotations

import unicodedata

_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_JOINERS = frozenset({"\u200c", "\u200d"})


def hidden_character(value: str) -> str | None:
    """What is wrong with ``value``'s first unseen character, or None when it has none."""
    if value.isascii():
        for char in value:
            if char < " " or char == "\x7f":
                return f"the control character {char!r}"
        return None
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            return f"a lone surrogate U+{ord(char):04X} (it is not valid Unicode text)"
        if category in _REFUSED and char not in _JOINERS:
            name = unicodedata.name(char, "") or category
            kind = "control character" if category == "Cc" else "invisible character"
            return f"the {kind} U+{ord(char):04X} {name}".rstrip()
    return None
