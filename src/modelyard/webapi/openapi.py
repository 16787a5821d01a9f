"""What ``/openapi.json`` says about bodies and errors: the routes read their bodies by hand
(``webapi.json``), so each describes its body here as a plain JSON schema; every operation
lists the error statuses the guards and the error mapping can give it, with one error schema.

Describes only; validates nothing (the hot paths stay on orjson and the handlers' checks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

JSON_TYPE = "application/json"
WRITE_METHODS = ("post", "put", "patch", "delete")

# building blocks for hand-written schemas
STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
OBJ: dict[str, Any] = {"type": "object"}
STR_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
STR_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

# the page_token query parameter of a paged list
PAGE_HELP = "next_page_token of the previous page, with the same filters (none: the first page)"


def page_limit(default: int, most: int, what: str) -> Any:
    """The ``limit`` query parameter of a paged list: 1 to ``most`` ``what`` in a page."""
    from fastapi import Query

    return Query(default, ge=1, le=most, description=f"{what} in this page (at most {most})")


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def obj(
    properties: dict[str, Any], required: Iterable[str] = (), *, closed: bool = False
) -> dict[str, Any]:
    """An object schema; ``closed``: the handler refuses fields it does not name."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    needed = list(required)
    if needed:
        schema["required"] = needed
    if closed:
        schema["additionalProperties"] = False
    return schema


def json_body(schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route whose handler reads a JSON body itself."""
    body: dict[str, Any] = {"required": True, "content": {JSON_TYPE: {"schema": schema}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


# a write with nothing to say still sends Content-Type: application/json (a cross-site form
# cannot), so it has a body: an empty object, which the handler does not read
EMPTY_BODY = json_body(
    obj({}),
    "Nothing to send: `{}` (or no body) with Content-Type application/json, which a "
    "cross-site form cannot send.",
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": [
                        "INVALID_ARGUMENT",
                        "NOT_FOUND",
                        "ALREADY_EXISTS",
                        "CONFLICT",
                        "UNAUTHENTICATED",
                        "PERMISSION_DENIED",
                        "RATE_LIMITED",
                        "PAYLOAD_TOO_LARGE",
                        "UNSUPPORTED_MEDIA_TYPE",
                        "UNAVAILABLE",
                        "INTERNAL_ERROR",
                    ],
                },
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}

_REASONS = {
    "400": "Bad input: the message and `field` name what is wrong",
    "401": "Not authenticated (a server with --auth): no credentials, or ones it does not accept",
    "403": "The caller lacks the permission the operation needs (`x-modelyard-permission`: "
    "a role in the object's project with --auth, MODELYARD_ROLES without)",
    "404": "Not found: the resource, or one the request names",
    "409": "Already exists, or a conflicting change (a stale revision, a resource in use)",
    "408": "The request body did not arrive within MODELYARD_BODY_TIMEOUT_SECONDS",
    "413": "The request body is over the server's limit",
    "415": "The request's Content-Type is not the one the operation takes",
    "429": "Too many tries: wait the `Retry-After` seconds before the next",
    "503": "The metadata database or the artifact store is unavailable",
    "507": "A store is out of space: nothing was written",
}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["503"]
    has_input = bool(operation.get("parameters")) or "requestBody" in operation
    if has_input:  # what a request names (in its path, query or body) may not exist
        statuses += ["400", "404"]
    # the permission a route declares (platform.route_permissions); a public one answers all
    permission = operation.get("x-modelyard-permission")
    if permission and permission != ["public"]:
        statuses += ["401", "403"]
    if method in WRITE_METHODS:
        statuses += [s for s in ("403", "409", "507") if s not in statuses]
        if "requestBody" in operation:
            statuses += ["408", "413", "415"]
    return statuses


def describe_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error schema and each operation's error statuses to ``spec``; drop
    FastAPI's 422 (the server answers bad input 400)."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    ref = {"$ref": "#/components/schemas/Error"}
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            for status in _error_statuses(method, operation):
                responses.setdefault(
                    status,
                    {"description": _REASONS[status], "content": {JSON_TYPE: {"schema": ref}}},
                )
    if not schemas:
        components.pop("schemas")
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve the described spec at ``/openapi.json`` (built once, on first request)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_errors(spec)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
