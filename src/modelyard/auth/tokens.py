"""API tokens: ``myd_<id>_<secret>``, made, parsed and checked; nothing here touches a store.

The id (12 characters, lower case and digits without look-alikes) is for the lookup and may be
shown; the secret (43 base62 characters, 256 bits) is shown once and never kept: the store holds
its SHA-256. A fast hash is enough because the secret has full entropy, and every request pays
for it. Parsing is strict (one exact length, ASCII only, no surrounding space, no other
prefix) and never repeats the text it refuses, so a token pasted in the wrong place does not
reach a log through an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

from modelyard.errors import Unauthenticated

TOKEN_PREFIX = "myd"  # noqa: S105 - a public marker, not a secret
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud or typed
ID_LENGTH = 12
SECRET_ALPHABET = string.ascii_letters + string.digits  # url-safe, and no "_" to split on
SECRET_LENGTH = 43  # 62**43 > 2**256
TOKEN_LENGTH = len(TOKEN_PREFIX) + 1 + ID_LENGTH + 1 + SECRET_LENGTH

_TOKEN = re.compile(
    rf"{TOKEN_PREFIX}_([{ID_ALPHABET}]{{{ID_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})",
    re.ASCII,
)
_SECRET = re.compile(rf"[A-Za-z0-9]{{{SECRET_LENGTH}}}", re.ASCII)
_MALFORMED = f"not an API token: one looks like {TOKEN_PREFIX}_<id>_<secret>"


def new_token() -> tuple[str, str, str]:
    """A fresh token: ``(token, token_id, sha256 hex of the secret)``; show the token once,
    store the other two."""
    token_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", token_id, _sha256_hex(secret)


def parse_token(text: str) -> tuple[str, str]:
    """``(token_id, secret)`` of a well-formed token; anything else is ``Unauthenticated``,
    whose message does not repeat the text."""
    if not isinstance(text, str) or len(text) != TOKEN_LENGTH:
        raise Unauthenticated(_MALFORMED)
    found = _TOKEN.fullmatch(text)
    if found is None:
        raise Unauthenticated(_MALFORMED)
    return found.group(1), found.group(2)


def matches(secret: str, stored_sha256_hex: str) -> bool:
    """Whether ``secret`` hashes to the stored digest, compared in constant time. A secret
    that is not of the token's form is refused before hashing (its form is public)."""
    if not isinstance(secret, str) or len(secret) != SECRET_LENGTH:
        return False
    if _SECRET.fullmatch(secret) is None:
        return False
    digest = _sha256_hex(secret).encode("ascii")
    return hmac.compare_digest(digest, stored_sha256_hex.encode("utf-8", "replace"))


def _sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
