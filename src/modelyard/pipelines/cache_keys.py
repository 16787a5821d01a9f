"""The cache key of a step call: the step's name and code fingerprint (its source and the
project code it uses), the versions of the packages that code reaches, and the content hash of
every argument by parameter name (an upstream step's output by its stored digest, a literal by
the digest of its encoding). Positional or keyword, the same call has the same key."""

from __future__ import annotations

from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.pipelines.fingerprint import fingerprint
from modelyard.pipelines.values import canonical, encode, sha256

KEY_VERSION = 1


def literal_digest(value: Any) -> str | None:
    """The content hash of an argument given as a value; None when it cannot be stored (the
    call is then not cached)."""
    try:
        return encode(value, where="an argument").ref().digest
    except InvalidArgument:
        return None


def cache_key(step: Any, digests: dict[str, str]) -> str:
    code, packages = fingerprint(step.fn)
    return sha256(
        canonical(
            {
                "v": KEY_VERSION,
                "step": step.name,
                "code": code,
                "packages": packages,
                "inputs": digests,
            }
        )
    )
