"""The auth store beside a backend: SQL on its database, or REST on its server."""

from __future__ import annotations

from modelyard.auth.rest_store import RestAuthStore
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.auth.store import AuthStore
from modelyard.errors import InvalidArgument
from modelyard.platform.backends import Backend, Part


def _build(backend: Backend) -> AuthStore:
    if backend.remote:
        assert backend.http is not None
        return RestAuthStore(backend.http)
    return sql_auth_store(backend)


def _build_sql(backend: Backend) -> SqlAuthStore:
    if backend.db is None:
        raise InvalidArgument(
            "users, projects and tokens of a server are managed through it: give its URL, or "
            "its database with --store",
            field="store",
        )
    return SqlAuthStore(backend.db, backend.settings)


auth_store = Part(_build)
sql_auth_store = Part(_build_sql)  # the server's own: logins, sessions and token checks
