"""What monitoring keeps: the catalog of shipped prediction files, and late labels.

A serving process writes every prediction to a local log and ships it as Parquet files; each
file is a dataset blob (content-addressed, verified on upload) listed here with its model,
version, endpoint and time range. Labels arrive later, by request id (and row, for a request
that carried several rows), and are joined to the predictions when they are read.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from modelyard.errors import InvalidArgument

MAX_LABELS = 10_000  # per call
MAX_ROW = 2**31 - 1
_ID = re.compile(r"[\x20-\x7e]{1,128}")  # printable ASCII
# the columns of every predictions frame (``MonitoringClient.predictions``), before the inputs
COLUMNS = [
    "request_id",
    "row",
    "timestamp",
    "endpoint",
    "model",
    "version",
    "shadow",
    "latency_ms",
    "prediction",
]


@dataclass(frozen=True)
class PredictionFile:
    sha256: str  # the Parquet file, a dataset blob
    size: int
    model: str  # the registered model's name (or the served name)
    version: str | None
    endpoint: str
    rows: int
    first_time: int  # epoch ms of the first and last prediction in the file
    last_time: int
    file_id: str = ""
    created_time: int = 0
    project: str | None = None  # None when sent: the shipper's only project, else default

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictionFile:
        return cls(**data)


@dataclass(frozen=True)
class Label:
    request_id: str
    label: Any  # a number, text or true/false
    row: int = 0  # which row of the request, for a request with several
    time: int | None = None  # when the truth was known (epoch ms); default: when recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_request_id(value: Any) -> bool:
    """Whether ``value`` is a request id labels can name: 1 to 128 printable ASCII characters.
    The servers refuse any other (``serving.codec.client_request_id``); a prediction logged
    with another id (by an older server) can never have a label."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_request_id(value: Any, field: str = "request_id") -> str:
    if not is_request_id(value):
        raise InvalidArgument(f"{field} must be 1 to 128 printable ASCII characters", field=field)
    return str(value)


def check_label_value(value: Any, field: str = "label") -> Any:
    if isinstance(value, (bool, int)):
        if not isinstance(value, bool) and abs(value) > 2**53:
            raise InvalidArgument(f"{field} is too large to keep exactly", field=field)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(f"{field} must be a finite number", field=field)
        return value
    if isinstance(value, str) and len(value) <= 1000:
        return value
    raise InvalidArgument(
        f"{field} must be a number, text (at most 1000 characters) or true/false", field=field
    )


LABEL_AHEAD_MS = 3_600_000  # clocks may differ: a label's time may be up to an hour ahead


def check_labels(items: Any) -> list[Label]:
    """Labels as ``Label``s or ``{"request_id", "label", "row"?, "time"?}`` objects."""
    if not isinstance(items, (list, tuple)):
        raise InvalidArgument("labels must be a list of {request_id, label}", field="labels")
    if len(items) > MAX_LABELS:
        raise InvalidArgument(f"send at most {MAX_LABELS} labels at once", field="labels")
    found = []
    for i, item in enumerate(items):
        where = f"labels[{i}]"
        if isinstance(item, Label):
            item = item.to_dict()
        if not isinstance(item, dict) or not set(item) <= {"request_id", "label", "row", "time"}:
            raise InvalidArgument(
                f"{where} must be an object with request_id, label and optionally row, time",
                field=where,
            )
        row = item.get("row", 0)
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row <= MAX_ROW:
            raise InvalidArgument(f"{where}.row must be a row number from 0", field=f"{where}.row")
        when = item.get("time")
        if when is not None and (
            isinstance(when, bool) or not isinstance(when, int) or not 0 <= when < 2**62
        ):
            raise InvalidArgument(f"{where}.time must be epoch milliseconds", field=f"{where}.time")
        if when is not None and when > time.time() * 1000 + LABEL_AHEAD_MS:
            raise InvalidArgument(
                f"{where}.time is in the future: when the truth was known, in epoch "
                "milliseconds (a label dated ahead would outrank every correction)",
                field=f"{where}.time",
            )
        if "label" not in item or item["label"] is None:
            raise InvalidArgument(f"{where}.label is missing", field=f"{where}.label")
        found.append(
            Label(
                check_request_id(item.get("request_id"), f"{where}.request_id"),
                check_label_value(item["label"], f"{where}.label"),
                row,
                when,
            )
        )
    return found
