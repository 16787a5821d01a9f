"""``POST /v2/feedback``: the true label of an earlier prediction, by its request id.

The body is one label, ``{"request_id": "r-1", "label": 1}`` (``"row": 2`` for the third
row of a request that carried several; ``"time"`` in epoch ms when the truth was known), or
many, ``{"labels": [{...}, ...]}`` (at most 10,000). The request id is the ``id`` of the
inference response (the request's own ``id``, else its ``x-request-id``). ``"model"`` names
the endpoint that made the predictions (required by a server with ``--auth``, whose token
must hold ``predict:<model>``).
"""

from __future__ import annotations

from modelyard.errors import InvalidArgument
from modelyard.monitoring.entities import Label, check_labels
from modelyard.serving.protocol import jsonbody


def parse_feedback(body: bytes) -> tuple[list[Label], str | None]:
    """``(the labels, the model they are for, if named)``."""
    data = jsonbody.load(body)  # a label given twice is refused, not the last one kept
    if not isinstance(data, dict):
        raise InvalidArgument(
            'send {"request_id": ..., "label": ...} or {"labels": [...]}', field="body"
        )
    model = data.pop("model", None)
    if model is not None and (not isinstance(model, str) or not 0 < len(model) <= 256):
        raise InvalidArgument("model must name the endpoint of the predictions", field="model")
    if "labels" in data:
        if set(data) != {"labels"}:
            raise InvalidArgument(
                "a body with labels holds nothing else (but model)", field="labels"
            )
        return check_labels(data["labels"]), model
    return check_labels([data]), model
