"""``POST /v2/feedback``: late labels into the prediction log (shipped with it), or straight
to the store when the server keeps no log. With ``--auth`` the body names the model and the
token holds its predict scope. A label the log cannot take now is refused (503,
``Retry-After``), never dropped: a lost label cannot be made again."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from modelyard.errors import InvalidArgument
from modelyard.serving.inference import Inference
from modelyard.serving.protocol.bodies import JSON_TYPES, media_type
from modelyard.serving.protocol.feedback import parse_feedback
from modelyard.serving.repository.fleet import NotServed
from modelyard.serving.rest.answers import (
    JSON,
    Answered,
    Headers,
    Receive,
    Reply,
    Scope,
    json_answer,
    read_body,
)


class FeedbackRoute:
    def __init__(self, inference: Inference) -> None:
        self.inference = inference
        self._monitoring: Any = None  # a MonitoringClient, for labels when there is no log

    async def post(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        media_type(headers, JSON_TYPES)
        body = await read_body(receive, headers, self.inference.config.max_body_bytes)
        labels, model = parse_feedback(body)
        granted = scope.get("modelyard.scopes")  # with --auth: the caller's token's
        if granted is not None:
            self._may_label(granted, model)
        predlog = self.inference.predlog
        if predlog is not None:
            if not predlog.accepting:  # a lost label cannot be made again: refuse it
                raise Reply(
                    503,
                    orjson.dumps({"error": f"{predlog.error}; send the labels again later"}),
                    [*JSON, (b"retry-after", b"5")],
                )
            predlog.labels([lb.to_dict() for lb in labels])
        else:
            await asyncio.to_thread(self._labels_client().log_labels, labels)
        return json_answer({"accepted": len(labels)})

    def _may_label(self, granted: frozenset[str], model: str | None) -> None:
        """With --auth, labels are for one endpoint served here, named in the body, whose
        predict scope the token holds (a client of another endpoint cannot label these)."""
        if model is None:
            raise InvalidArgument(
                'a server with --auth takes labels for one model: {"model": ENDPOINT, ...}',
                field="model",
            )
        if f"predict:{model}" not in granted or model not in self.inference.fleet.endpoints:
            raise NotServed(f"model {model!r} is not served here")

    def _labels_client(self) -> Any:
        """The store labels go to when there is no log (made once, on first use)."""
        if self._monitoring is None:
            from modelyard.monitoring.client import MonitoringClient

            self._monitoring = MonitoringClient(self.inference.config.tracking_uri)
        return self._monitoring
