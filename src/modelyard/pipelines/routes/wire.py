"""Request bodies of the pipelines API into records, each malformed part named: what the
SQL store checks next is the records' content, here only their shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from modelyard.errors import InvalidArgument
from modelyard.pipelines.entities import OutputRef
from modelyard.pipelines.store import PipelineStore

T = TypeVar("T")


def pipelines_store(request: Request) -> PipelineStore:
    found: PipelineStore = request.app.state.pipelines
    return found


def parse(kind: Callable[[dict[str, Any]], T], value: Any, field: str) -> T:
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be an object", field=field)
    try:
        return kind(value)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise InvalidArgument(f"{field} is malformed: {exc}", field=field) from None


def output_ref(value: Any, field: str) -> OutputRef | None:
    if value is None:
        return None
    ref = parse(OutputRef.from_dict, value, field)
    if not isinstance(ref.digest, str) or not all(isinstance(b, str) for b in ref.blobs):
        raise InvalidArgument(f"{field} must name sha256 digests", field=field)
    return ref


def known_fields(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidArgument(f"unknown field(s) {unknown}", field=unknown[0])
