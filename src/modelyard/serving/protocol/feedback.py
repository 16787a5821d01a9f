"""``POST /v2/feedback``: the true label of an earlier prediction, by its request id.

The body is one label, ``{"request_id": "r-1", "label": 1}`` (``"row": 2`` for the third
row of a request that carried several; ``"time"`` in epoch ms when the truth was known), or
many, ``{"labels": [{...}, ...]}`` (at most 10,000). The request id is the ``id`` of the
inference response (the request's own ``id``, else its ``x-request-id``).
"""

from __future__ import annotations

from modelyard.errors import InvalidArgument
from modelyard.monitoring.entities import Label, check_labels
from modelyard.serving.protocol import jsonbody


def parse_feedback(body: bytes) -> list[Label]:
    data = jsonbody.load(body)  # a label given twice is refused, not the last one kept
    if not isinstance(data, dict):
        raise InvalidArgument(
            'send {"request_id": ..., "label": ...} or {"labels": [...]}', field="body"
        )
    if "labels" in data:
        if set(data) != {"labels"}:
            raise InvalidArgument("a body with labels holds nothing else", field="labels")
        return check_labels(data["labels"])
    found = check_labels([data])
    return found
