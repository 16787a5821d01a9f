"""The server's own routes: liveness (``/v2/health/live``, and MLflow's ``/ping`` and
``/health``), readiness with its warnings, the Prometheus metrics and the server's metadata.
None of them reads a body or looks at the method."""

from __future__ import annotations

from typing import Any

from modelyard._version import __version__
from modelyard.serving import metrics
from modelyard.serving.inference import EXTENSIONS, Inference
from modelyard.serving.rest.answers import Answered, Headers, Receive, Scope, json_answer


class ServerRoutes:
    def __init__(self, inference: Inference) -> None:
        self.inference = inference

    async def live(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        return json_answer({"live": True})

    async def ready(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        inference = self.inference
        body: dict[str, Any] = {"ready": inference.ready}
        warnings = inference.warnings()
        if warnings:
            body["warnings"] = warnings  # the old versions keep serving
        return json_answer(body, 200 if inference.ready_now() else 503)

    async def metrics(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        text, kind = metrics.render()
        return 200, text, [(b"content-type", kind.encode())]

    async def metadata(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        return json_answer({"name": "modelyard", "version": __version__, "extensions": EXTENSIONS})
