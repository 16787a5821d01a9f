"""Errors a user can meet are of modelyard's root (``ModelyardError``): a message, a field, an
HTTP status and an exit code. A bare ``raise ValueError(...)`` in the package is either on the
list below, with the reason it is not a user's error, or a finding."""

from __future__ import annotations

import ast
import builtins
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.fixtures.stores import free_port

import modelyard
from modelyard import errors
from modelyard.store.rest import HttpTransport
from modelyard.webapi.errors import install_error_handlers

PACKAGE = Path(modelyard.__file__).parent

# (path under the package, exception) -> why it is not a user-facing error
ALLOWED = {
    ("__init__.py", "AttributeError"): "module __getattr__: the protocol requires it",
    ("lazy.py", "AttributeError"): "module __getattr__: the protocol requires it",
    ("monitoring/shift/findings.py", "KeyError"): "report['column']: the mapping protocol",
    ("data/schema.py", "KeyError"): "schema['column']: the mapping protocol",
    ("webapi/deadline.py", "ValueError"): "a programming error in the server's own set-up",
    ("platform/route_permissions.py", "ValueError"): "a route declared with an unknown action",
    (
        "platform/route_permissions.py",
        "RuntimeError",
    ): "a route without a permission: the server must not be built",
    ("serving/rest/router.py", "ValueError"): "a serving route without what it needs",
    ("serving/grpc_server.py", "ValueError"): "a gRPC method without what it needs",
    ("serving/runtime/batching.py", "ValueError"): "a programming error in the server's own set-up",
    (
        "serving/runtime/batching.py",
        "RuntimeError",
    ): "caught by the runtime, answered as a model fault",
    ("models/signature.py", "ValueError"): "caught in place, raised as InvalidArgument",
    (
        "serving/protocol/codec.py",
        "ValueError",
    ): "caught by the codec, answered as 400 naming the input",
    ("store/migrate.py", "RuntimeError"): "a broken install (two migration heads): a bug",
    ("store/migrations/env.py", "RuntimeError"): "alembic run by hand, outside modelyard",
    ("serving/predlog/writer.py", "OSError"): "a retried race with the shipper, caught in place",
    ("htmlpage/shell.py", "ValueError"): "a programming error in our own page code",
    ("outbound/post.py", "TimeoutError"): "caught in place: the deadline, a failed delivery",
}


def _bare_raises() -> set[tuple[str, str]]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.id if isinstance(target, ast.Name) else None
            kind = getattr(builtins, name, None) if name else None
            if (
                isinstance(kind, type)
                and issubclass(kind, BaseException)
                and kind not in (AssertionError, NotImplementedError)
            ):
                found.add((path.relative_to(PACKAGE).as_posix(), str(name)))
    return found


def test_no_builtin_exception_escapes_the_root() -> None:
    unexpected = _bare_raises() - set(ALLOWED)
    assert not unexpected, f"raise a ModelyardError subclass instead: {sorted(unexpected)}"


def test_the_list_has_no_stale_entries() -> None:
    assert set(ALLOWED) <= _bare_raises()


# --- the codes a caller meets over the wire: raised by a route, answered, raised again ---

ROUND_TRIPS = [
    (errors.Unauthenticated("sign in: no credentials", field="authorization"), 401, 8),
    (errors.PermissionDenied("deployment.write needs a role", field="user"), 403, 5),
    (errors.TooManyRequests("too many logins", retry_after=17, field="user"), 429, 6),
    (errors.NotFound("model 'm' not found"), 404, 3),
]


@pytest.fixture(scope="module")
def failing_server() -> Iterator[str]:
    """A real uvicorn server whose ``/fail/{i}`` raises ``ROUND_TRIPS[i]`` in a route."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail/{i}")
    def fail(i: int) -> None:
        raise ROUND_TRIPS[i][0]

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("i", range(len(ROUND_TRIPS)), ids=[e.code for e, _, _ in ROUND_TRIPS])
def test_an_error_crosses_http_as_itself(failing_server: str, i: int) -> None:
    exc, status, exit_code = ROUND_TRIPS[i]
    assert errors.HTTP_STATUS[exc.code] == status and errors.EXIT_CODES[exc.code] == exit_code
    answer = httpx.get(f"{failing_server}/fail/{i}")
    assert answer.status_code == status
    assert answer.json() == {"error": exc.to_dict()}
    remote = HttpTransport(failing_server)
    with pytest.raises(errors.ModelyardError) as raised:
        remote.request("GET", f"/fail/{i}")
    remote.close()
    assert type(raised.value) is type(exc)
    assert (raised.value.message, raised.value.field) == (exc.message, exc.field)
    if isinstance(exc, errors.TooManyRequests):
        assert answer.headers["retry-after"] == "17"
        assert isinstance(raised.value, errors.TooManyRequests) and raised.value.retry_after == 17
    else:
        assert "retry-after" not in answer.headers
    if isinstance(exc, errors.Unauthenticated):  # RFC 9110: a 401 says how to authenticate
        assert answer.headers["www-authenticate"] == "Bearer"
    else:
        assert "www-authenticate" not in answer.headers


def test_retry_after_is_whole_seconds_of_at_least_one() -> None:
    assert errors.TooManyRequests("slow down", retry_after=0).retry_after == 1
    assert errors.TooManyRequests("slow down").retry_after == 1
    rebuilt = errors.error_from_dict({"code": "RATE_LIMITED", "message": "slow down"})
    assert isinstance(rebuilt, errors.TooManyRequests) and rebuilt.retry_after == 1


def test_every_code_has_a_grpc_status() -> None:
    from modelyard.serving.grpc_server import STATUS

    assert set(errors.ERRORS_BY_CODE) <= set(STATUS)
    assert STATUS["UNAUTHENTICATED"] == "UNAUTHENTICATED"
    assert STATUS["RATE_LIMITED"] == "RESOURCE_EXHAUSTED"
