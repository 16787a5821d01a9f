"""Every route of ``modelyard server`` declares its permission, and a server with --auth
enforces it: the live route table is walked and each route is called anonymously, by a user
who holds no role anywhere, and by a viewer. A route that declares nothing stops the server
from being built, and one that slipped past is refused at request time."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.fixtures.auth import AuthServer

from modelyard.config import Settings
from modelyard.identity import Actor, acting_as
from modelyard.platform.access import ACTIONS, GLOBAL_ACTIONS, Grants
from modelyard.platform.route_permissions import (
    AUTHENTICATED,
    PUBLIC,
    api_routes,
    declared,
    enforce_declared,
    install_permissions,
    needs,
)
from modelyard.server.app import create_app

# path parameters filled with values that name nothing
FILL = {
    "experiment_id": "123456",
    "run_id": "0" * 32,
    "sha256": "0" * 64,
    "version": "1",
    "key:path": "k",
    "request_id": "0" * 32,
    "webhook_id": "0" * 32,
    "fingerprint": "0" * 16,
    "token_id": "0" * 12,
}
UPLOADS = {"/api/v1/runs/{run_id}/artifacts", "/api/v1/datasets/blobs/{sha256}"}
# writes whose declared action is a read: searches and lookups sent as POST, and a cancel
# (the requester's own, or an admin's: the store decides)
READING_WRITES = {
    ("POST", "/api/v1/runs/search"),
    ("POST", "/api/v1/predictions/labels/lookup"),
    ("POST", "/api/v1/alerts/lookup"),
    ("POST", "/api/v1/registry/approvals/{request_id}/cancel"),
}


def _table(tmp_path: Path) -> list[tuple[str, str, list[str]]]:
    """(method, path, declared actions) of every route of a server with --auth."""
    from tests.fixtures.auth import seed

    from modelyard.auth.sql_store import SqlAuthStore
    from modelyard.store.database import Database

    uri = f"sqlite:///{tmp_path}/table.db"
    db = Database(uri)
    seed(SqlAuthStore(db, Settings.from_env()))
    db.dispose()
    settings = replace(Settings.from_env(), auth=True, artifacts_uri=(tmp_path / "a").as_uri())
    app = create_app(uri, settings=settings)
    fastapi_app = app
    while not isinstance(fastapi_app, FastAPI):  # under the middlewares
        fastapi_app = fastapi_app.app  # type: ignore[attr-defined]
    table = []
    for route in api_routes(fastapi_app.routes):
        actions = declared(route)
        assert actions is not None, route.path
        for method in sorted(route.methods or ()):
            table.append((method, route.path, actions))
    return table


def _url(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: FILL.get(m.group(1), "nope"), path)


def test_every_route_declares_a_known_permission_fitting_its_method(tmp_path: Path) -> None:
    table = _table(tmp_path)
    assert len(table) > 100
    for method, path, actions in table:
        for action in actions:
            assert action in ACTIONS or action in (PUBLIC, AUTHENTICATED), (method, path)
        reads = all(a.endswith(".read") or a == "audit.verify" for a in actions)
        if method == "GET":
            assert reads or actions in ([PUBLIC], [AUTHENTICATED]), (method, path, actions)
        elif (method, path) not in READING_WRITES:
            assert not reads, (method, path, actions)
    public = {(m, p) for m, p, a in table if a == [PUBLIC]}
    assert public == {
        ("GET", "/health"),
        ("GET", "/api/v1/health"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/password"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/oidc/start"),
        ("GET", "/api/v1/auth/oidc/callback"),
        ("POST", "/api/v1/auth/oidc/token"),
        ("GET", "/api/v1/auth/methods"),
        ("GET", "/api/v1/auth/jwks.json"),
        ("GET", "/api/v1/auth/serving-tokens/revoked"),
    }


@pytest.fixture
def callers(auth_server: AuthServer) -> dict[str, dict[str, str]]:
    """Headers of: nobody (a user holding no role), bob (a viewer of churn)."""
    store = auth_server.seeded.store
    store.create_user("nobody", password="x" * 12)
    nobody = store.create_token("t", expires_s=3600, principal="nobody").token
    return {
        "nobody": {"Authorization": f"Bearer {nobody}"},
        "viewer": {"Authorization": f"Bearer {auth_server.seeded.tokens['bob']}"},
    }


def test_each_live_route_refuses_who_may_not_call_it(
    auth_server: AuthServer, callers: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    viewer_actions = Grants.of({"churn": ["viewer"]}).actions("churn")
    checked = 0
    with httpx.Client(base_url=auth_server.url, timeout=30) as http:
        for method, path, actions in _table(tmp_path):
            url = _url(path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            if method == "PUT" and path in UPLOADS:
                http.headers["content-type"] = "application/octet-stream"
                body = None
            else:
                http.headers.pop("content-type", None)
            anonymous = http.request(method, url, json=body)
            if actions == [PUBLIC]:  # reached the handler (a login may still answer 401)
                assert "authentication required" not in anonymous.text, (method, path)
                continue
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
            nobody = http.request(method, url, json=body, headers=callers["nobody"])
            viewer = http.request(method, url, json=body, headers=callers["viewer"])
            if actions == [AUTHENTICATED]:  # the store decides: never a 401
                assert nobody.status_code != 401 and viewer.status_code != 401, (method, path)
                assert "in no project" not in nobody.text, (method, path)
                continue
            assert nobody.status_code == 403, (method, path, nobody.text)
            assert "holds it in no project" in nobody.json()["error"]["message"]
            if any(a in viewer_actions for a in actions):
                assert viewer.status_code not in (401, 403), (method, path, viewer.text)
            else:
                assert viewer.status_code == 403, (method, path, viewer.text)
            checked += 1
    assert checked > 90


def test_the_global_actions_need_a_global_admin(
    auth_server: AuthServer, callers: dict[str, dict[str, str]]
) -> None:
    carol = {"Authorization": f"Bearer {auth_server.seeded.tokens['carol']}"}  # fraud's admin
    with httpx.Client(base_url=auth_server.url) as http:
        for method, path in (
            ("GET", "/api/v1/users"),
            ("POST", "/api/v1/users"),
            ("POST", "/api/v1/projects"),
            ("GET", "/api/v1/audit/verify"),
        ):
            got = http.request(method, path, json={} if method == "POST" else None, headers=carol)
            assert got.status_code == 403, (method, path, got.text)
    assert {"user.write", "project.create", "audit.verify"} <= GLOBAL_ACTIONS


def _app_with(extra: APIRouter) -> FastAPI:
    from fastapi import Depends

    from modelyard.webapi.errors import install_error_handlers

    app = FastAPI(dependencies=[Depends(enforce_declared)])
    install_error_handlers(app)
    app.include_router(extra)
    return app


def test_a_route_without_a_declared_permission_stops_the_build() -> None:
    router = APIRouter(prefix="/api/v1/new")

    @router.get("/declared", openapi_extra=needs("model.read"))
    async def declared_route() -> dict[str, str]:
        return {}

    @router.post("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    app = _app_with(router)
    with pytest.raises(RuntimeError, match=r"POST /api/v1/new/forgotten .*declares no permission"):
        install_permissions(app)
    # and if it slipped past the build, the request is refused, not served
    viewer = Actor("v", roles=frozenset(), grants=Grants.of({"p": ["viewer"]}))
    with acting_as(viewer), TestClient(app) as http:
        assert http.get("/api/v1/new/declared").status_code == 200
        refused = http.post("/api/v1/new/forgotten")
        assert refused.status_code == 403 and "declares no permission" in refused.text
    with pytest.raises(ValueError, match="unknown action"):
        needs("model.fly")
    with pytest.raises(ValueError, match="stand alone"):
        needs(PUBLIC, "model.read")
    assert isinstance(next(iter(api_routes(app.routes))), APIRoute)


def test_the_permission_table_of_the_docs_is_the_live_one(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "auth.md").read_text()
    table = text.split("<!-- permissions:start -->")[1].split("<!-- permissions:end -->")[0]
    documented = set()
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        documented.add((cells[0], cells[1].strip("`"), cells[2]))
    live = {
        (method, path, " or ".join(actions))
        for method, path, actions in _table(tmp_path)
        if path != "/api/v1/health"  # the same as /health, not described
    }
    assert documented == live, (sorted(documented - live), sorted(live - documented))


def test_refusals_are_audited_once_a_minute_per_caller_and_route(
    auth_server: AuthServer, callers: dict[str, dict[str, str]]
) -> None:
    admin = {"Authorization": f"Bearer {auth_server.seeded.admin}"}
    with httpx.Client(base_url=auth_server.url) as http:
        for _ in range(3):
            got = http.post(
                "/api/v1/registry/models", json={"name": "m"}, headers=callers["viewer"]
            )
            assert got.status_code == 403
        got = http.delete("/api/v1/experiments/1", headers=callers["viewer"])
        assert got.status_code == 403
        http.get("/api/v1/users")  # anonymous: 401, not a refusal of someone
        entries = http.get(
            "/api/v1/audit", params={"action": "auth.permission_denied"}, headers=admin
        ).json()["entries"]
    seen = [(e["object_id"], e["after"]["method"], e["after"]["route"]) for e in entries]
    assert seen == [
        ("bob", "POST", "/api/v1/registry/models"),
        ("bob", "DELETE", "/api/v1/experiments/{experiment_id}"),
    ]
    assert all("model.create" in e["after"]["message"] or "experiment.delete" in
               e["after"]["message"] for e in entries)  # fmt: skip
