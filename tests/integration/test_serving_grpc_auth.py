"""``modelyard serve --auth --grpc-port``: every gRPC method needs what its REST twin needs,
checked by the REST router's own ``ServingAuth`` against the call's ``authorization: Bearer``
metadata. Every method of the service (read from its own table, so a new one is walked too)
is called with no token, broken ones, a token for another endpoint, a predict token and an
admin one, each call twice (the second answered from the checked-token cache); no answer
and no log line holds a token's text."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import grpc
import httpx
import jwt
import numpy as np
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tests.fixtures.auth import AuthServer
from tests.fixtures.logged import saved_model
from tests.fixtures.oip import churn_inputs
from tests.fixtures.serving import Running
from tests.fixtures.stores import free_port
from tritonclient.grpc import service_pb2 as pb
from tritonclient.utils import InferenceServerException

import modelyard as yard
from modelyard.auth.rest_store import RestAuthStore
from modelyard.auth.signing import SigningKeys
from modelyard.config import Settings
from modelyard.platform import backends
from modelyard.serving.app import ServingApp
from modelyard.serving.auth import ADMIN, PREDICT, PUBLIC, TOKEN
from modelyard.serving.config import ModelSource, ServeConfig
from modelyard.serving.grpc_server import SERVICE, Needs, Service
from modelyard.store.database import Database
from modelyard.store.rest import HttpTransport

OK = grpc.StatusCode.OK
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED
REFUSED = {PUBLIC: OK, TOKEN: UNAUTHENTICATED, PREDICT: UNAUTHENTICATED, ADMIN: UNAUTHENTICATED}

# what each method's REST twin needs (app.py's route table, docs/auth.md): pinned here, so a
# new method, or a declaration that drifts from REST, fails until this says what it needs
TWINS = {
    "ServerLive": PUBLIC,  # /v2/health/live
    "ServerReady": PUBLIC,  # /v2/health/ready
    "ServerMetadata": TOKEN,  # /v2
    "ModelReady": PREDICT,  # /v2/models/{name}/ready
    "ModelMetadata": PREDICT,  # /v2/models/{name}
    "ModelConfig": PREDICT,  # /v2/models/{name}/config
    "ModelInfer": PREDICT,  # /v2/models/{name}/infer
    "ModelStatistics": PREDICT,  # /v2/models/{name}/stats (every model's: below, ADMIN)
    "RepositoryIndex": ADMIN,  # /v2/repository/index
    "RepositoryModelLoad": ADMIN,  # /v2/repository/models/{name}/load
    "RepositoryModelUnload": ADMIN,  # /v2/repository/models/{name}/unload
}


@dataclass
class Served:
    platform: AuthServer
    running: Running

    @property
    def app(self) -> ServingApp:
        return self.running.app

    @property
    def target(self) -> str:
        grpc_server = self.app.grpc
        assert grpc_server is not None
        return f"127.0.0.1:{grpc_server.port}"


def _register(platform: AuthServer) -> None:
    """churn (project churn) and fraudmodel (project fraud) registered on the platform."""
    for project, name in (("churn", "churn"), ("fraud", "fraudmodel")):
        settings = replace(Settings.from_env(), token=platform.seeded.admin, project=project)
        with yard.Client(platform.url, settings=settings) as c:
            c.create_registered_model(name)
    backends.forget()


@pytest.fixture
def served(auth_server: AuthServer) -> Iterator[Served]:
    """churn and fraudmodel served from folders, REST and gRPC, with --auth (and model
    control, so that an admin's load and unload do something)."""
    _register(auth_server)
    folder = str(saved_model())
    config = ServeConfig(
        [ModelSource(folder, "churn"), ModelSource(folder, "fraudmodel")],
        auth=True,
        auth_issuer=auth_server.url,
        prediction_log=None,
        grpc_port=0,
        model_control="explicit",
        watch_s=0,
    )
    running = Running(ServingApp(config))
    try:
        yield Served(auth_server, running)
    finally:
        running.stop()


# --- tokens ----------------------------------------------------------------------------------
def _predict(platform: AuthServer, who: str, endpoint: str) -> str:
    """A serving token for ``endpoint`` the platform signs for ``who`` (its API)."""
    store = RestAuthStore(HttpTransport(platform.url, token=platform.seeded.tokens[who]))
    token: str = store.serving_token(endpoint)["token"]
    return token


def _signed(platform: AuthServer, **claims: Any) -> str:
    """A token signed with the platform's own key, with ``claims`` over a real one's: what
    the platform does not hand out (serve:admin, an expired one)."""
    base = jwt.decode(_predict(platform, "bob", "churn"), options={"verify_signature": False})
    db = Database(platform.store_uri)
    try:
        kid, key = SigningKeys(db).current()
    finally:
        db.dispose()
    return jwt.encode({**base, **claims}, key, algorithm="ES256", headers={"kid": kid})


def _broken(platform: AuthServer) -> dict[str, str]:
    """Tokens that are not a valid serving token, by why."""
    real = _predict(platform, "bob", "churn")
    claims = jwt.decode(real, options={"verify_signature": False})
    from cryptography.hazmat.primitives.asymmetric import ec

    mine = ec.generate_private_key(ec.SECP256R1())
    wider = dict(claims, scope="predict:churn predict:fraudmodel serve:admin")
    now = int(time.time())
    return {
        "garbage": "x" * 5000,
        "three dots of nothing": "a.b.c",
        "unsigned": jwt.encode(claims, None, algorithm="none"),
        "another key, same kid": jwt.encode(
            wider, mine, algorithm="ES256", headers=jwt.get_unverified_header(real)
        ),
        "expired": _signed(platform, iat=now - 3600, exp=now - 120),
        "a platform API token": platform.seeded.tokens["bob"],
    }


# --- calls -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    label: str
    method: str
    request: Any
    response: Any  # the response's class
    needs: str  # what the REST twin needs


def _infer_request(model: str) -> Any:
    tensor = pb.ModelInferRequest.InferInputTensor
    values = {"a": [0.9, 0.1], "b": [0.5, 0.5]}
    return pb.ModelInferRequest(
        model_name=model,
        inputs=[tensor(name=k, datatype="FP64", shape=[2]) for k in values],
        raw_input_contents=[np.array(v, dtype="<f8").tobytes() for v in values.values()],
    )


def _calls(app: ServingApp, model: str) -> list[Call]:
    """One call of every method in the service's table, about ``model`` where the method
    names one (load and unload: fraudmodel, so that churn stays served); and every model's
    statistics."""
    methods = Service(app.inference).methods()
    assert set(methods) == set(TWINS), "a new method: say in TWINS what its REST twin needs"
    calls = []
    for name, (_, request, response) in methods.items():
        fields = request.DESCRIPTOR.fields_by_name
        if name == "ModelInfer":
            message = _infer_request(model)
        elif name.startswith("RepositoryModel"):
            message = request(model_name="fraudmodel")
        elif "name" in fields:
            message = request(name=model)
        else:
            message = request()
        calls.append(Call(name, name, message, response, TWINS[name]))
    stats = methods["ModelStatistics"]
    calls.append(Call("every model's statistics", "ModelStatistics", stats[1](), stats[2], ADMIN))
    return calls


def _invoke(
    channel: grpc.Channel, call: Call, token: str | None, scheme: str = "Bearer"
) -> tuple[Any, str]:
    """(status, details) of ``call`` with ``token`` in its metadata (none: without)."""
    rpc = channel.unary_unary(
        f"/{SERVICE}/{call.method}",
        request_serializer=type(call.request).SerializeToString,
        response_deserializer=call.response.FromString,
    )
    metadata = () if token is None else (("authorization", f"{scheme} {token}"),)
    try:
        rpc(call.request, metadata=metadata, timeout=30)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return OK, ""


def _walk(
    served: Served, token: str | None, expected: dict[str, Any], model: str = "churn"
) -> dict[str, str]:
    """Every call twice with ``token``: the status ``expected`` maps its needs to, both
    times, and no token text in the answer. The details of each call, by label."""
    found = {}
    with grpc.insecure_channel(served.target) as channel:
        for call in _calls(served.app, model):
            first = _invoke(channel, call, token)
            assert _invoke(channel, call, token) == first, call.label  # the cached answer
            assert first[0] == expected[call.needs], (call.label, first)
            if token is not None:
                assert token[:24] not in first[1], call.label
            found[call.label] = first[1]
    return found


# --- the walks -------------------------------------------------------------------------------
def test_each_method_declares_what_its_rest_twin_needs(served: Served) -> None:
    from modelyard.serving.grpc_server import RPC_NEEDS

    assert {name: n.needs for name, n in RPC_NEEDS.items()} == TWINS
    assert RPC_NEEDS["ModelStatistics"].unnamed == ADMIN  # every model's: /v2/models/stats

    class Grown(Service):  # a method added without a declaration is not served
        def methods(self) -> dict[str, tuple[Any, Any, Any]]:
            found = super().methods()
            return {**found, "ModelFly": found["ServerLive"]}

    with pytest.raises(ValueError, match="ModelFly"):
        Grown(served.app.inference).handler()
    with pytest.raises(ValueError, match="without a declaration"):
        Grown(served.app.inference, None).handler()  # without --auth as well
    with pytest.raises(ValueError, match="needs one of"):
        Needs("nothing")
    with pytest.raises(ValueError, match="naming the endpoint"):
        Needs(PREDICT)


def test_without_a_token_only_the_probes_answer(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    walked = _walk(served, None, REFUSED)
    assert "Authorization: Bearer <token>" in walked["ModelInfer"]  # says what to send
    infer = next(c for c in _calls(served.app, "churn") if c.method == "ModelInfer")
    with grpc.insecure_channel(served.target) as channel:  # another scheme is no token
        assert _invoke(channel, infer, "Ym9iOnB3", scheme="Basic")[0] == UNAUTHENTICATED
    assert "Ym9iOnB3" not in caplog.text


def test_broken_tokens_are_unauthenticated(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for why, token in _broken(served.platform).items():
        walked = _walk(served, token, REFUSED)
        if why == "expired":
            assert walked["ModelInfer"] == "the serving token has expired"
        assert token[:24] not in caplog.text, why


def test_a_predict_token_opens_its_models_methods_and_no_admin_one(served: Served) -> None:
    token = _predict(served.platform, "bob", "churn")
    walked = _walk(served, token, {PUBLIC: OK, TOKEN: OK, PREDICT: OK, ADMIN: DENIED})
    assert walked["RepositoryIndex"] == "this needs a token with the serve:admin scope"
    assert walked["every model's statistics"] == walked["RepositoryIndex"]


def test_a_token_for_another_endpoint_answers_as_a_missing_model(served: Served) -> None:
    token = _predict(served.platform, "carol", "fraudmodel")  # fraud's admin: not churn's
    expected = {PUBLIC: OK, TOKEN: OK, PREDICT: NOT_FOUND, ADMIN: DENIED}
    other = _walk(served, token, expected)
    missing = _walk(served, token, expected, model="nosuch")
    for call in _calls(served.app, "churn"):
        if call.needs == PREDICT:  # the same answer as a model not served, names swapped
            assert other[call.label] == "model 'churn' is not served here", call.label
            assert other[call.label].replace("churn", "nosuch") == missing[call.label]
    _walk(served, token, {PUBLIC: OK, TOKEN: OK, PREDICT: OK, ADMIN: DENIED}, "fraudmodel")


def test_an_admin_token_opens_the_repository_not_the_models(served: Served) -> None:
    admin = _signed(served.platform, scope="serve:admin")
    _walk(served, admin, {PUBLIC: OK, TOKEN: OK, PREDICT: NOT_FOUND, ADMIN: OK})
    index = tgrpc.InferenceServerClient(served.target).get_model_repository_index(
        headers={"authorization": f"Bearer {admin}"}
    )
    states = {m.name: m.state for m in index.models}
    assert states == {"churn": "READY", "fraudmodel": "UNAVAILABLE"}  # the walk unloaded it
    both = _signed(served.platform, scope="predict:churn serve:admin")
    _walk(served, both, {PUBLIC: OK, TOKEN: OK, PREDICT: OK, ADMIN: OK})


# --- answers and the cache -------------------------------------------------------------------
def test_infer_with_a_token_answers_as_rest(served: Served) -> None:
    token = _predict(served.platform, "bob", "churn")
    headers = {"authorization": f"Bearer {token}"}
    client = tgrpc.InferenceServerClient(served.target)
    rest = thttp.InferenceServerClient(f"127.0.0.1:{served.running.port}")
    # (tritonclient.http adds its own headers to the dict it is given)
    want = rest.infer("churn", churn_inputs(thttp), headers=dict(headers)).as_numpy("predict")
    for _ in range(2):
        got = client.infer("churn", churn_inputs(tgrpc), headers=headers)
        assert got.as_numpy("predict").tolist() == want.tolist()
        assert client.is_model_ready("churn", headers=headers)
    with pytest.raises(InferenceServerException) as caught:
        client.infer("churn", churn_inputs(tgrpc))
    assert caught.value.status() == "StatusCode.UNAUTHENTICATED"
    with pytest.raises(InferenceServerException) as caught:
        client.infer("fraudmodel", churn_inputs(tgrpc), headers=headers)
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    assert caught.value.message() == "model 'fraudmodel' is not served here"


def test_grpc_checks_with_the_rest_routers_auth_and_its_cache(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _predict(served.platform, "bob", "churn")
    unseen = _predict(served.platform, "alice", "churn")
    got = httpx.get(
        f"{served.running.url}/v2/models/churn", headers={"Authorization": f"Bearer {token}"}
    )
    assert got.status_code == 200, got.text  # checked once, by REST
    auth = served.app.router.auth
    assert auth is not None
    monkeypatch.setattr(auth, "keys", {})  # from now on, only a remembered token passes
    monkeypatch.setattr(auth, "jwks_url", None)  # (and the keys are not asked for again)
    with grpc.insecure_channel(served.target) as channel:
        infer = next(c for c in _calls(served.app, "churn") if c.method == "ModelInfer")
        for _ in range(2):
            assert _invoke(channel, infer, token) == (OK, "")
        status, details = _invoke(channel, infer, unseen)
        assert status == UNAUTHENTICATED and "does not know" in details


# --- the command line ------------------------------------------------------------------------
def test_modelyard_serve_auth_with_a_grpc_port(auth_server: AuthServer) -> None:
    _register(auth_server)
    token = _predict(auth_server, "bob", "churn")
    port, grpc_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "modelyard", "serve", f"churn={saved_model()}", "--auth"]
    cmd += ["--auth-issuer", auth_server.url, "--grpc-port", str(grpc_port), "--port", str(port)]
    cmd += ["--workers", "2", "--no-prediction-log", "--watch-seconds", "0"]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], stderr=subprocess.PIPE)
    try:
        client = tgrpc.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        deadline = time.monotonic() + 90
        while True:
            try:
                if client.is_server_ready():  # a probe: no token
                    break
            except InferenceServerException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "did not start"
            time.sleep(0.2)
        with pytest.raises(InferenceServerException) as caught:
            client.get_server_metadata()
        assert caught.value.status() == "StatusCode.UNAUTHENTICATED"
        headers = {"authorization": f"Bearer {token}"}
        got = client.infer("churn", churn_inputs(tgrpc), headers=headers)
        assert got.as_numpy("predict").tolist() == [1, 0]
        rest = httpx.get(
            f"http://127.0.0.1:{port}/v2", headers={"Authorization": headers["authorization"]}
        )
        assert json.loads(rest.text)["name"] == "modelyard"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM) and b"Traceback" not in err, err.decode()
    assert token[:24].encode() not in err
