"""What the server's auth routes do: log in (a browser session, or an API token for the
CLI), change one's password, log out, and say who the caller is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelyard.auth.authenticator import Authenticator
from modelyard.auth.denials import Denials
from modelyard.auth.oidc import SingleSignOn
from modelyard.auth.ratelimit import RateLimit
from modelyard.auth.signing import SigningKeys
from modelyard.auth.sql_projects import roles_of
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.config import Settings
from modelyard.errors import PermissionDenied
from modelyard.identity import Actor, acting_as
from modelyard.platform.access import ROLE_ACTIONS

LOGIN_TOKEN_S = 30 * 86400  # what ``modelyard login`` saves
MUST_CHANGE = (
    "the password must be changed before the first use: POST /api/v1/auth/password with "
    "name, password and new_password (modelyard login asks for it)"
)


@dataclass(frozen=True)
class Login:
    principal: str
    session_id: str | None = None
    csrf_token: str | None = None
    token: str | None = None
    expires_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"principal": self.principal}
        if self.csrf_token is not None:
            d["csrf_token"] = self.csrf_token
        if self.token is not None:
            d.update(token=self.token, expires_time=self.expires_time)
        return d


class AuthService:
    def __init__(self, store: SqlAuthStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.sso = SingleSignOn(store, settings) if settings.oidc_issuer else None
        self.authenticator = Authenticator(
            store, settings, jwt=None if self.sso is None else self.sso.bearer
        )
        self.limit = RateLimit(per_minute=10)
        # what an anonymous caller or a token holder could otherwise make the store keep
        self.starts = RateLimit(per_minute=30)  # browser logins begun, per address
        self.minted = RateLimit(per_minute=60)  # serving tokens signed, per principal
        self.denials = Denials(store.db)
        self.signing = SigningKeys(store.db)

    def login(self, name: Any, password: Any, *, address: str, issue_token: bool) -> Login:
        self.limit.take(address)
        logged = self.store.logins.check_password(name, password)
        if logged.must_change:
            raise PermissionDenied(MUST_CHANGE, field="password")
        row = logged.row
        if issue_token:
            me = Actor(row["name"], id=row["principal_id"], kind="user", person=row["name"])
            with acting_as(me):
                made = self.store.tokens.create(
                    "modelyard login", expires_s=LOGIN_TOKEN_S, principal=row["name"]
                )
            return Login(row["name"], token=made.token, expires_time=made.info.expires_time)
        session_id, csrf = self.store.sessions.create(
            row["principal_id"], "password", name=row["name"]
        )
        return Login(row["name"], session_id=session_id, csrf_token=csrf)

    def exchange_code(self, code: Any, verifier: Any, *, address: str) -> Login:
        """A command-line single sign-on: the API token its one-use code stands for, made
        as that user (it carries the user's groups; see ``SqlTokens``)."""
        self.limit.take(address)
        assert self.sso is not None
        row, groups = self.sso.sql.take_code(code, verifier)
        with acting_as(self.sso.actor(row, groups)):
            made = self.store.tokens.create(
                "modelyard login (single sign-on)", expires_s=LOGIN_TOKEN_S, principal=row["name"]
            )
        return Login(row["name"], token=made.token, expires_time=made.info.expires_time)

    def change_password(self, name: Any, old: Any, new: Any, *, address: str) -> None:
        self.limit.take(address)
        self.store.logins.check_password(name, old)  # the lockout and its audit apply here too
        self.store.principals.change_password(name, old, new)
        self.authenticator.forget()

    def logout(self, session_id: str | None) -> None:
        if session_id:
            self.store.sessions.end(session_id)
        self.authenticator.forget()

    def whoami(self, actor: Actor) -> dict[str, Any]:
        grants = actor.grants
        projects = {}
        if grants is not None:
            for project in sorted(grants.projects()):
                held = grants.actions(project)
                projects[project] = [r for r, acts in ROLE_ACTIONS.items() if acts <= held]
        admin = grants is not None and "user.write" in grants.everywhere
        bound = {}
        if actor.id is not None:
            with self.store.db.read() as conn:
                bound = {p: sorted(r) for p, r in roles_of(conn, actor.id).items()}
        return {
            "name": actor.name,
            "kind": actor.kind,
            "person": actor.person,
            "admin": admin,
            "roles": projects,  # what this credential may do, per project
            "bindings": bound,  # the principal's role bindings
        }
