"""Names, keys and paths hold no character a person cannot see or that reads as another, and
no validator lets a trailing newline through.

Found by what a character is (its Unicode category): controls (C0 and C1), format characters
(bidirectional overrides and isolates, zero-width spaces, the byte order mark), line and
paragraph separators. ZWNJ and ZWJ stay allowed: Persian, the Indic scripts and emoji need
them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelyard as yard
from modelyard.data.manifest import check_dataset_name, check_sha256
from modelyard.errors import InvalidArgument
from modelyard.monitoring.entities import check_request_id
from modelyard.platform.checks import check_name
from modelyard.registry.deployments import check_sticky_header
from modelyard.registry.names import check_alias, check_model_name
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.store.artifacts.s3 import parse_s3_uri
from modelyard.unicode_text import hidden_character

HIDDEN = [
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE: 'report\u202etxt.exe' reads 'reportexe.txt'
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2069",  # POP DIRECTIONAL ISOLATE
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u061c",  # ARABIC LETTER MARK
    "\u200b",  # ZERO WIDTH SPACE: two names that look alike
    "\u2060",  # WORD JOINER
    "\ufeff",  # BYTE ORDER MARK
    "\u00ad",  # SOFT HYPHEN
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\x85",  # NEXT LINE, a C1 control
    "\x9b",  # CONTROL SEQUENCE INTRODUCER, a C1 control
    "\x1b",  # ESCAPE
    "\x7f",  # DELETE
    "\n",
    "\t",
]
VISIBLE = ["café", "名前", "Ölpreis_2026", "کتاب\u200cها", "👩\u200d💻", "μ-σ", "x²"]  # noqa: RUF001


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_names_and_paths_refuse_hidden_characters(char: str, where: str) -> None:
    value = {"start": f"{char}report", "middle": f"rep{char}ort", "end": f"report{char}"}[where]
    assert hidden_character(value) is not None
    with pytest.raises(InvalidArgument, match=f"U\\+{ord(char):04X}|control character"):
        check_name(value, "key")
    with pytest.raises(InvalidArgument) as refused:
        safe_relpath(f"plots/{value}.png")
    assert refused.value.field == "path"


@pytest.mark.parametrize("value", VISIBLE)
def test_names_and_paths_keep_every_script(value: str) -> None:
    assert hidden_character(value) is None
    assert check_name(value, "key") == value
    assert safe_relpath(f"plots/{value}.png") == f"plots/{value}.png"


def test_a_user_meets_the_rule_through_the_sdk(tmp_path: Path) -> None:
    yard.set_tracking_uri(f"sqlite:///{tmp_path}/yard.db")
    spoof = tmp_path / "report.txt"
    spoof.write_text("x")
    with yard.start_run():
        for _ in range(2):
            with pytest.raises(InvalidArgument, match="U\\+202E RIGHT-TO-LEFT OVERRIDE"):
                yard.log_param("lr\u202e", 0.1)
            with pytest.raises(InvalidArgument, match="U\\+200B ZERO WIDTH SPACE"):
                yard.log_artifact(str(spoof), artifact_path="plots\u200b")
        yard.log_param("学习率", 0.1)  # any script is a name
        yard.flush()


TRAILING_NEWLINE: list[tuple[str, Callable[[str], Any], str]] = [
    ("dataset name", check_dataset_name, "churn"),
    ("sha256", check_sha256, "0" * 64),
    ("request id", check_request_id, "r-1"),
    ("model name", check_model_name, "churn"),
    ("alias", check_alias, "champion"),
    ("sticky header", check_sticky_header, "x-user-id"),
    ("s3 uri", lambda v: parse_s3_uri(f"s3://{v}/prefix"), "my-bucket"),
]


@pytest.mark.parametrize(
    ("what", "check", "good"), TRAILING_NEWLINE, ids=[t[0] for t in TRAILING_NEWLINE]
)
def test_no_validator_lets_a_trailing_newline_through(
    what: str, check: Callable[[str], Any], good: str
) -> None:
    check(good)  # the value itself is fine
    with pytest.raises(InvalidArgument):
        check(good + "\n")


def test_no_pattern_in_the_source_is_anchored_with_a_dollar() -> None:
    """``$`` matches before a final newline: a pattern that means 'the whole value' uses
    ``fullmatch`` (or ``\\Z``)."""
    src = Path(yard.__file__).parent
    dollar = re.compile(r"""re\.compile\(\s*r?["'][^"']*\$["']""")
    found = [
        f"{p.relative_to(src)}:{n}"
        for p in sorted(src.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if dollar.search(line)
    ]
    assert not found, f"anchored with $ (use fullmatch): {found}"
