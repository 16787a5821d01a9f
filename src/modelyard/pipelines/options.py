"""What ``@yard.step(...)`` and ``@yard.pipeline(...)`` accept, checked once at decoration so a
typo fails where it is written, with the option's name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.durations import parse_duration

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
RESOURCE_KEYS = ("cpus", "gpus", "memory")
CATCHUP = ("skip", "latest", "all")
RESERVED_PARAMS = frozenset({"executor", "cache", "wait", "params", "trigger"})


def check_step_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"{field} must be 1-128 letters, digits, '_', '.' or '-', starting with a letter "
            f"or '_'; got {str(name)[:60]!r}",
            field=field,
        )
    return name


@dataclass(frozen=True)
class StepOptions:
    name: str
    cache: bool = False
    cache_expires: float | None = None  # seconds a cache entry is good for; None: forever
    retries: int = 0
    retry_delay: float = 1.0  # seconds before the first retry; doubled for each next one
    timeout: float | None = None  # seconds an attempt may take
    resources: dict[str, float] = field(default_factory=dict)
    process: bool = False  # run in a child process (CPU-bound work; killable on timeout)


def step_options(name: str, **given: Any) -> StepOptions:
    check_step_name(name, "step name")
    retries = given.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        raise InvalidArgument(
            f"retries must be an integer from 0 to 100, got {retries!r}", field="retries"
        )
    cache = given.get("cache", False)
    if not isinstance(cache, bool):
        raise InvalidArgument(f"cache must be True or False, got {cache!r}", field="cache")
    expires = given.get("cache_expires")
    timeout = given.get("timeout")
    process = given.get("process", False)
    if not isinstance(process, bool):
        raise InvalidArgument(f"process must be True or False, got {process!r}", field="process")
    return StepOptions(
        name=name,
        cache=cache,
        cache_expires=None if expires is None else parse_duration(expires, "cache_expires"),
        retries=retries,
        retry_delay=parse_duration(given.get("retry_delay", 1.0), "retry_delay", allow_zero=True),
        timeout=None if timeout is None else parse_duration(timeout, "timeout"),
        resources=check_resources(given.get("resources")),
        process=process,
    )


def check_resources(resources: Any) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, dict):
        raise InvalidArgument(
            f"resources must be a dict such as {{'cpus': 2}}, got {type(resources).__name__}",
            field="resources",
        )
    out: dict[str, float] = {}
    for key, value in resources.items():
        if key not in RESOURCE_KEYS:
            raise InvalidArgument(
                f"resources[{key!r}] is not a resource; use {', '.join(RESOURCE_KEYS)} "
                "(memory in bytes)",
                field=f"resources[{key!r}]",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidArgument(
                f"resources[{key!r}] must be a number of at least 0, got {value!r}",
                field=f"resources[{key!r}]",
            )
        out[key] = float(value)
    return out


def check_catchup(value: Any) -> str:
    if value not in CATCHUP:
        raise InvalidArgument(
            f"catchup must be one of {', '.join(CATCHUP)}, got {value!r}", field="catchup"
        )
    return str(value)


def check_max_active(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise InvalidArgument(
            f"max_active must be an integer from 1 to 1000, got {value!r}", field="max_active"
        )
    return value
