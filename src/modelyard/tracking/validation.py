"""Checks of tracking's own values: run and experiment ids, metric values, steps and times,
run statuses. The checks every domain shares are in ``modelyard.platform.checks``."""

from __future__ import annotations

import re
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.checks import short
from modelyard.tracking.entities import RunStatus

MAX_EXPERIMENT_NAME = 500
MAX_METRICS_PER_BATCH = 100_000
MAX_STEP = 2**63 - 1

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_EXPERIMENT_ID = re.compile(r"[0-9]{1,18}")


def check_run_id(value: Any, field: str = "run_id") -> str:
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InvalidArgument(
            f"{field} must be 32 lowercase hex characters, got {short(str(value))}", field=field
        )
    return value


def check_metric_value(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        # numpy scalars and other number-likes are accepted through float()
        if hasattr(value, "__float__") and not isinstance(value, str | bytes):
            try:
                return float(value)
            except (TypeError, ValueError, OverflowError):
                pass
        raise InvalidArgument(
            f"{field} must be a number, got {type(value).__name__} {short(str(value))}",
            field=field,
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidArgument(
            f"{field} is too large for a 64-bit float: {short(str(value))}", field=field
        ) from None


def check_step(value: Any, field: str = "step") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if hasattr(value, "__index__"):
            value = int(value)
        else:
            raise InvalidArgument(
                f"{field} must be an integer, got {type(value).__name__}", field=field
            )
    if not -MAX_STEP <= value <= MAX_STEP:
        raise InvalidArgument(f"{field} {value} is out of the 64-bit range", field=field)
    return int(value)


def check_timestamp(value: Any, field: str = "timestamp") -> int:
    return check_step(value, field)


def check_metric_count(n: int, field: str = "metrics") -> None:
    if n > MAX_METRICS_PER_BATCH:
        raise InvalidArgument(
            f"{field}: at most {MAX_METRICS_PER_BATCH} per batch, got {n}; "
            "split the batch or log through log_metric, which batches for you",
            field=field,
        )


def parse_experiment_id(value: Any, field: str = "experiment_id") -> int:
    """Experiment ids are integers in SQL and strings everywhere else; this converts."""
    text = str(value)
    if not _EXPERIMENT_ID.fullmatch(text):
        raise InvalidArgument(
            f"{field} must be a non-negative integer id, got {text[:40]!r}", field=field
        )
    return int(text)


def check_status(value: Any, field: str = "status") -> str:
    try:
        return RunStatus(value).value
    except ValueError:
        allowed = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"{field} must be one of {allowed}, got {str(value)[:40]!r}", field=field
        ) from None
