"""The platform's signing keys and the serving tokens it signs with them.

A serving token is a short-lived ES256 JWT an inference server (``modelyard serve --auth``)
checks on its own, with the platform's public keys (``/api/v1/auth/jwks.json``), so no
request of the hot path reaches the database: ``iss`` the platform, ``aud``
``modelyard-serve``, ``sub`` the principal, ``scope`` ``predict:<endpoint>``, ``exp`` at most
a day away. The key pair is made on first use and kept in ``signing_keys`` (the private half
is as secret as the database); a retired key stays in the JWKS a day, as long as a token it
signed can live.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.tables import signing_keys
from modelyard.errors import InvalidArgument
from modelyard.platform.ids import now_ms
from modelyard.store.database import Database

SERVING_AUDIENCE = "modelyard-serve"
ADMIN_SCOPE = "serve:admin"  # an inference server's admin routes (a global admin's)
ALG = "ES256"
MAX_TTL_S = 86400
DEFAULT_TTL_S = 15 * 60
RETIRED_KEPT_MS = MAX_TTL_S * 1000


CURRENT_FOR_S = 60.0  # a rotation made by another server process is seen within this


class SigningKeys:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._current: tuple[str, Any] | None = None  # kid, private key
        self._read = 0.0  # when it was read (monotonic)
        self._lock = threading.Lock()

    def current(self) -> tuple[str, Any]:
        """``(kid, private key)`` of the key that signs now (made when there is none)."""
        with self._lock:
            if self._current is None or time.monotonic() - self._read > CURRENT_FOR_S:
                self._current = self.db.run_write(self._load_or_make)
                self._read = time.monotonic()
            return self._current

    def _load_or_make(self, conn: Connection) -> tuple[str, Any]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        row = conn.execute(
            sa.select(signing_keys.c.kid, signing_keys.c.private_pem)
            .where(signing_keys.c.retired_time.is_(None))
            .order_by(signing_keys.c.created_time.desc())
        ).first()
        if row is not None:
            key = serialization.load_pem_private_key(row[1].encode(), password=None)
            return str(row[0]), key
        key = ec.generate_private_key(ec.SECP256R1())
        kid = secrets.token_hex(8)
        conn.execute(
            signing_keys.insert().values(
                kid=kid,
                alg=ALG,
                private_pem=key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
                public_jwk=_public_jwk(key, kid),
                created_time=now_ms(),
            )
        )
        return kid, key

    def rotate(self) -> str:
        """A new key signs from now on; the old one stays in the JWKS a day. The new kid."""

        def write(conn: Connection) -> None:
            conn.execute(
                signing_keys.update()
                .where(signing_keys.c.retired_time.is_(None))
                .values(retired_time=now_ms())
            )

        self.db.run_write(write)
        with self._lock:
            self._current = None
        return self.current()[0]

    def jwks(self) -> dict[str, Any]:
        """The public keys a serving token may be signed with."""
        self.current()  # there is always one to publish
        since = now_ms() - RETIRED_KEPT_MS
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(signing_keys.c.public_jwk).where(
                    sa.or_(
                        signing_keys.c.retired_time.is_(None), signing_keys.c.retired_time > since
                    )
                )
            ).scalars()
            return {"keys": [json.loads(r) for r in rows]}

    def serving_token(
        self, subject: str, scope: str, ttl_s: int, issuer: str
    ) -> tuple[str, int, str]:
        """``(the JWT, its expiry in ms, its id)`` letting ``subject`` do ``scope``
        (``predict:<endpoint>``, or ``serve:admin``)."""
        import jwt

        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 60 <= ttl_s <= MAX_TTL_S:
            raise InvalidArgument("ttl must be from 1 minute to 1 day", field="ttl")
        kid, key = self.current()
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": SERVING_AUDIENCE,
            "sub": subject,
            "scope": scope,
            "iat": now,
            "exp": now + ttl_s,
            "jti": secrets.token_hex(12),
        }
        token = jwt.encode(claims, key, algorithm=ALG, headers={"kid": kid})
        return token, (now + ttl_s) * 1000, str(claims["jti"])


def _public_jwk(key: Any, kid: str) -> str:
    from jwt.algorithms import ECAlgorithm

    found = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    found.update(kid=kid, alg=ALG, use="sig")
    return json.dumps(found)
