"""The inference handler over REST: ``POST /v2/models/{name}[/versions/{v}]/infer`` (the
protocol's JSON, or JSON and binary tensors) and MLflow's ``POST /invocations``.

Each request is admitted (or refused at once, before its body is read), marked for the
metrics, counted in its version's statistics and held on that version while it runs (a
swap closes a batcher only after its last request); the body is decoded here and the rest
is ``Inference``'s: the signature, the batcher, the timeout, the prediction log, the
shadows. This is the hot path: no allocation or call beyond what the request needs.
"""

from __future__ import annotations

import time

from modelyard.platform.checks import short
from modelyard.serving.inference import Call, Inference
from modelyard.serving.protocol.bodies import JSON_TYPES, media_type, off_loop
from modelyard.serving.protocol.codec import (
    HEADER_LENGTH,
    ProtocolError,
    decode_request,
    encode_response,
)
from modelyard.serving.protocol.mlflow_payloads import (
    decode_invocation,
    encode_predictions,
    encode_probabilities,
)
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.repository.fleet import NotServed
from modelyard.serving.rest.answers import JSON, Answered, Headers, Receive, Scope, read_body
from modelyard.serving.runtime.served import ServedModel

# an inference body is JSON, or JSON and tensor bytes (the binary extension); none said is JSON
INFER_TYPES = (*JSON_TYPES, "application/octet-stream")
_HEADER_LENGTH = HEADER_LENGTH.encode()


class InferenceHandler:
    def __init__(self, inference: Inference) -> None:
        self.inference = inference
        self.limit = inference.config.max_body_bytes

    def _enter(self, scope: Scope, endpoint: Endpoint | None, served: ServedModel | None) -> None:
        """Admit an inference request (or refuse it) and mark it for the metrics."""
        name = endpoint.name if endpoint is not None else ""
        version = (served.version or "") if served is not None else ""
        scope["modelyard.timing"] = (name, version, time.perf_counter())  # 503s counted too
        self.inference.enter()

    async def infer(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        endpoint: Endpoint,
        served: ServedModel,
        version: str | None,
    ) -> Answered:
        inference = self.inference
        call = Call(scope["modelyard.request_id"])
        served.active += 1  # a swap closes this version's batcher only after
        try:  # its last request is done
            with inference.counted(served, call):
                self._enter(scope, endpoint, served)
                try:
                    media_type(headers, INFER_TYPES)
                    body = await read_body(receive, headers, self.limit)
                    t = time.perf_counter_ns()
                    raw_length = headers.get(_HEADER_LENGTH)  # where the JSON part ends
                    if raw_length is not None and not raw_length.isdigit():
                        raise ProtocolError(
                            "Inference-Header-Content-Length must be a non-negative integer "
                            "(the length of the JSON part in bytes), not "
                            f"{short(raw_length.decode('latin-1'))}",
                            field="Inference-Header-Content-Length",
                        )
                    length = None if raw_length is None else int(raw_length)
                    request = await off_loop(len(body), decode_request, body, length)
                    call.timing.input_ns += time.perf_counter_ns() - t
                    answer = await inference.infer(endpoint, served, request, call, len(body))
                    t = time.perf_counter_ns()
                    out, header = encode_response(
                        endpoint.name,
                        served.version,
                        answer.request_id,
                        answer.outputs,
                        {n for n, _ in answer.outputs if request.binary(n)},
                        {"predict_proba": {"classes": answer.classes}},
                    )
                    extra = (
                        list(JSON)
                        if header is None
                        else [
                            (b"content-type", b"application/octet-stream"),
                            (_HEADER_LENGTH, str(header).encode()),
                        ]
                    )
                    extra.append((b"x-modelyard-version", str(served.version or "").encode()))
                    call.timing.output_ns += time.perf_counter_ns() - t
                    return 200, out, extra
                finally:
                    inference.leave()
        finally:
            served.active -= 1

    async def invocations(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        """MLflow's payloads, to the first model or the one ``?model=`` names."""
        self._enter(scope, None, None)
        inference = self.inference
        try:
            query = scope.get("query_string", b"").decode("latin-1")
            wanted = next(
                (p.split("=", 1)[1] for p in query.split("&") if p.startswith("model=")), None
            )
            endpoint = inference.fleet.endpoint(wanted) if wanted else inference.fleet.default()
            granted = scope.get("modelyard.scopes")  # with --auth: the caller's token's
            if granted is not None and f"predict:{endpoint.name}" not in granted:
                raise NotServed(f"model {endpoint.name!r} is not served here")
            served = inference.fleet.model(endpoint, None, headers)
            started = scope["modelyard.timing"][2]
            scope["modelyard.timing"] = (endpoint.name, served.version or "", started)
            call = Call(scope.get("modelyard.request_id", ""))
            served.active += 1
            try:
                with inference.counted(served, call):
                    return await self._invocation(endpoint, served, receive, headers, call)
            finally:
                served.active -= 1
        finally:
            inference.leave()

    async def _invocation(
        self,
        endpoint: Endpoint,
        served: ServedModel,
        receive: Receive,
        headers: Headers,
        call: Call,
    ) -> Answered:
        inference = self.inference
        body = await read_body(receive, headers, self.limit)
        t = time.perf_counter_ns()
        content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
        prepared = await off_loop(len(body), decode_invocation, body, content_type, served)
        inference.rows_allowed(prepared.rows, "body")
        call.timing.input_ns += time.perf_counter_ns() - t
        asked = prepared.method == "predict_proba"
        if asked and served.classes is None:
            raise ProtocolError(
                f"model {served.name!r} answers no class probabilities (not a classifier "
                "with predict_proba)",
                field="params.predict_method",
            )
        result = await inference.predict(served, prepared, call.timing)
        proba = await inference.proba(served, prepared, asked, call.timing)
        call.rows = prepared.rows
        request_id = call.request_id
        inference.logged(request_id, endpoint, served, prepared, result, call.started_ns, proba)
        if endpoint.shadows:
            inference.shadows.mirror(
                endpoint, lambda m: decode_invocation(body, content_type, m), result, request_id
            )
        t = time.perf_counter_ns()
        answer = (
            encode_probabilities(served.classes or [], proba)
            if asked
            else encode_predictions(result)
        )
        call.timing.output_ns += time.perf_counter_ns() - t
        return 200, answer, [*JSON, (b"x-modelyard-version", str(served.version or "").encode())]
