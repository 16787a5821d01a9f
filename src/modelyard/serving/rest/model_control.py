"""The model repository extension over REST: ``POST /v2/repository/index`` and
``POST /v2/repository/models/{name}/load|unload``, answered by ``repository.control`` as
gRPC's are."""

from __future__ import annotations

from modelyard.serving.inference import Inference
from modelyard.serving.protocol.bodies import JSON_TYPES, media_type
from modelyard.serving.repository.control import control_parameters, index_request
from modelyard.serving.rest.answers import (
    Answered,
    Headers,
    Receive,
    Scope,
    json_answer,
    read_body,
)


class ControlRoutes:
    def __init__(self, inference: Inference) -> None:
        self.inference = inference

    async def index(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        media_type(headers, JSON_TYPES)
        body = await read_body(receive, headers, self.inference.config.max_body_bytes)
        return json_answer(self.inference.control.index(index_request(body)))

    async def load(self, scope: Scope, receive: Receive, headers: Headers, name: str) -> Answered:
        media_type(headers, JSON_TYPES)
        body = await read_body(receive, headers, self.inference.config.max_body_bytes)
        await self.inference.control.load(name, control_parameters(body))
        return json_answer({"name": name, "done": "load"})

    async def unload(self, scope: Scope, receive: Receive, headers: Headers, name: str) -> Answered:
        media_type(headers, JSON_TYPES)
        body = await read_body(receive, headers, self.inference.config.max_body_bytes)
        await self.inference.control.unload(name, control_parameters(body))
        return json_answer({"name": name, "done": "unload"})
