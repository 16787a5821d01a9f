"""Fast JSON in and out for route handlers: orjson, errors that name what was wrong.

Handlers on hot paths read the body with ``read_json`` and answer with ``json_response``
instead of going through pydantic models.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status_code: int = 200) -> Response:
    return OrjsonResponse(content, status_code=status_code)


def parse_json(raw: bytes) -> Any:
    if not raw:
        raise InvalidArgument("the request body is empty; expected a JSON object", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "recursion" in reason.lower() or "depth limit" in reason.lower():
            reason = "it is nested too deeply (at most 1024 levels)"
        raise InvalidArgument(
            f"the request body is not valid JSON: {reason}", field="body"
        ) from None


async def read_json(request: Request) -> dict[str, Any]:
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    return body


def require(body: dict[str, Any], key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    value = body.get(key)
    if (
        value is None
        or not isinstance(value, kind)
        or (isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)))
    ):
        raise InvalidArgument(f"{key} must be {expected}", field=key)
    return value
