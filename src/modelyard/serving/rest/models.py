"""A served model's routes other than inference: its metadata, readiness, configuration
(Triton's form) and statistics, and every model's statistics (``/v2/models/stats``)."""

from __future__ import annotations

from modelyard.serving.inference import Inference
from modelyard.serving.protocol.model_config import model_config
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.rest.answers import Answered, Headers, Receive, Scope, json_answer
from modelyard.serving.runtime.served import ServedModel


class ModelRoutes:
    def __init__(self, inference: Inference) -> None:
        self.inference = inference

    async def every_stats(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        return json_answer({"model_stats": self.inference.fleet.statistics(None, None)})

    async def metadata(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        endpoint: Endpoint,
        served: ServedModel,
        version: str | None,
    ) -> Answered:
        return json_answer(self.inference.fleet.metadata(endpoint, served))

    async def ready(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        endpoint: Endpoint,
        served: ServedModel,
        version: str | None,
    ) -> Answered:
        ready = self.inference.ready
        return json_answer({"name": endpoint.name, "ready": ready}, 200 if ready else 503)

    async def config(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        endpoint: Endpoint,
        served: ServedModel,
        version: str | None,
    ) -> Answered:
        described = self.inference.fleet.described(endpoint, version)
        return json_answer(model_config(endpoint.name, described, self.inference.config))

    async def stats(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        endpoint: Endpoint,
        served: ServedModel,
        version: str | None,
    ) -> Answered:
        return json_answer({"model_stats": self.inference.fleet.statistics(endpoint.name, version)})
