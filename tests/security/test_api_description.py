"""The HTTP API describes what a client or a fuzzer needs: every write's body and content
type, every operation's error statuses with one error schema; a 405 says what is allowed; no
page loads scripts from another host."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from tests.fixtures.stores import ServerThread

WRITES = ("post", "put", "patch")


@pytest.fixture
def spec_and_url(server_factory: Callable[..., ServerThread]) -> tuple[dict, str]:  # type: ignore[type-arg]
    server = server_factory()
    return httpx.get(f"{server.url}/openapi.json").json(), server.url


def _operations(spec: dict) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_write_describes_its_body_and_content_type(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    spec, _ = spec_and_url
    writes = [(p, m, op) for p, m, op in _operations(spec) if m in WRITES]
    assert len(writes) >= 35
    for path, method, op in writes:
        body = op.get("requestBody")
        assert body is not None and body.get("required"), f"{method} {path}"
        [(content_type, media)] = body["content"].items()
        assert content_type in ("application/json", "application/octet-stream"), path
        assert "schema" in media, f"{method} {path}"
        if content_type == "application/json" and media["schema"].get("properties"):
            assert media["schema"]["type"] == "object"


def test_every_operation_lists_its_error_statuses(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    spec, _ = spec_and_url
    assert "Error" in spec["components"]["schemas"]
    for path, method, op in _operations(spec):
        responses = op["responses"]
        assert "422" not in responses, f"{method} {path}: the server answers 400, never 422"
        assert "503" in responses, f"{method} {path}"
        if op.get("parameters") or "requestBody" in op:
            assert {"400", "404"} <= set(responses), f"{method} {path}"
        if method in (*WRITES, "delete"):
            assert {"403", "409"} <= set(responses), f"{method} {path}"
        if "requestBody" in op:
            assert {"413", "415"} <= set(responses), f"{method} {path}"
        for status, answer in responses.items():
            if status.startswith("4") or status.startswith("5"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


def test_a_wrong_method_gets_405_with_allow(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    _, url = spec_and_url
    with httpx.Client(base_url=url) as http:
        got = http.put("/api/v1/registry/models", json={})  # GET and POST live here
        assert got.status_code == 405
        assert set(got.headers["allow"].split(", ")) >= {"GET", "POST"}
        assert got.json()["error"]["code"] == "INVALID_ARGUMENT"
        got = http.post("/api/v1/registry/models/m/aliases/a", json={})  # PUT and DELETE
        assert got.status_code == 405 and {"PUT", "DELETE"} <= set(got.headers["allow"].split(", "))


def test_a_delete_without_a_body_needs_no_content_type(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    _, url = spec_and_url
    with httpx.Client(base_url=url) as http:
        got = http.delete("/api/v1/registry/models/absent")
        assert got.status_code == 404, got.text
        got = http.request(
            "DELETE",
            "/api/v1/registry/models/absent",
            content=b"x",
            headers={"Content-Type": "text/plain"},
        )
        assert got.status_code == 415  # a body still says what it is


def test_no_page_loads_scripts_from_another_host(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    _, url = spec_and_url
    with httpx.Client(base_url=url) as http:
        for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            got = http.get(page)
            hosts = re.findall(r"(?:src|href)=[\"']?(?:https?:)?//([^/\"' >]+)", got.text)
            assert not hosts, f"{page} loads from {hosts}"
            assert got.status_code == 404


def test_operation_ids_are_named_for_what_they_do(spec_and_url: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    """Generated clients name their methods from the operation ids, so an id is public: none
    may come from a private helper's name (``_health_health_get``), and none may repeat."""
    spec, _ = spec_and_url
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i.startswith("_")] == []
    assert spec["paths"]["/health"]["get"]["operationId"] == "health_health_get"
