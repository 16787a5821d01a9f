"""Signing what modelyard POSTs to a webhook: HMAC-SHA256 over the timestamp and the body, so
a receiver can tell the sender had the secret and refuse a replay of an old body."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Modelyard-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
