"""Checks on the names the registry stores: model names, aliases, gates, sources, versions,
and ``models:/`` URIs. Every failure names the field and what was expected."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.checks import check_tags

MAX_SIGNATURE_CHARS = 1 << 20  # a signature of 10,000 columns is about 600 KiB

MAX_MODEL_NAME = 256
MAX_SOURCE = 2000
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,255}")
_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_VERSION_LIKE = re.compile(r"v\d+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_VERSION = 2**31 - 1
GATE_TAG_PREFIX = "gate."  # a version tag gate.<name> = passed records a passed gate
RESERVED_ALIASES = frozenset({"latest"})


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def check_model_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidArgument(
            f"{field} must be 1-{MAX_MODEL_NAME} characters: letters, digits, '_', '.' or '-', "
            f"starting with a letter or digit; got {str(name)[:80]!r}",
            field=field,
        )
    return name


def check_alias(alias: Any, field: str = "alias") -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidArgument(
            f"{field} must be 1-64 characters: lower-case letters, digits, '_' or '-', "
            f"starting with a letter; got {str(alias)[:80]!r}",
            field=field,
        )
    if alias in RESERVED_ALIASES or _VERSION_LIKE.fullmatch(alias):
        raise InvalidArgument(
            f"{field} {alias!r} is reserved ('latest' and v<number> name versions)", field=field
        )
    return alias


def check_gate(name: Any) -> str:
    if not isinstance(name, str) or not _ALIAS.fullmatch(name):
        raise InvalidArgument(
            f"gate names are 1-64 lower-case letters, digits, '_' or '-'; got {str(name)[:80]!r}",
            field="required_gates",
        )
    return name


MAX_VERSION = 2**31 - 1  # the column is a 32-bit INTEGER


def check_version(version: Any, field: str = "version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        shown = repr(version) if len(repr(version)) < 40 else repr(version)[:40] + "..."
        raise InvalidArgument(
            f"{field} must be an integer from 1 to {MAX_VERSION}, got {shown}", field=field
        )
    return version


def check_source(source: Any) -> str:
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE:
        raise InvalidArgument(
            f"source must be a non-empty URI of at most {MAX_SOURCE} characters", field="source"
        )
    if any(ord(c) < 32 for c in source):
        raise InvalidArgument("source must not hold control characters", field="source")
    return source


def check_text(value: Any, field: str, limit: int = 20_000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidArgument(f"{field} must be text of at most {limit} characters", field=field)
    return value


def check_model_tags(tags: Any, field: str = "tags") -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidArgument(f"{field} must be a mapping of strings to strings", field=field)
    return check_tags(tags, field)


@dataclass(frozen=True)
class ModelRef:
    """What a ``models:/`` URI names: a version number, an alias, or the latest version."""

    name: str
    version: int | None = None
    alias: str | None = None


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/name/3``, ``models:/name@alias``, ``models:/name/latest`` or ``models:/name``."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidArgument(f"not a models:/ URI: {str(uri)[:120]!r}", field="model_uri")
    rest = uri[len("models:/") :]
    expected = "models:/<name>/<version>, models:/<name>@<alias> or models:/<name>/latest"
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if "/" in alias or "/" in name:
            raise InvalidArgument(f"{uri!r} must look like {expected}", field="model_uri")
        return ModelRef(check_model_name(name, "model_uri"), alias=check_alias(alias, "model_uri"))
    name, slash, version = rest.partition("/")
    if not slash or version == "latest":
        return ModelRef(check_model_name(name, "model_uri"))
    if not (version.isascii() and version.isdigit()) or not 1 <= int(version) <= MAX_VERSION:
        raise InvalidArgument(
            f"{uri!r}: the version must be a positive number or 'latest' ({expected})",
            field="model_uri",
        )
    return ModelRef(check_model_name(name, "model_uri"), version=int(version))


def check_signature(signature: object) -> dict[str, Any] | None:
    """A signature as ``modelyard.models`` writes it: ``kind`` columns (inputs: a list of
    column objects) or tensor (inputs: one object); outputs optional, likewise."""
    if signature is None:
        return None
    if not isinstance(signature, dict):
        raise InvalidArgument("signature must be an object", field="signature")
    kind = signature.get("kind")
    if kind not in ("columns", "tensor"):
        raise InvalidArgument("signature.kind must be 'columns' or 'tensor'", field="signature")
    inputs = signature.get("inputs")
    ok = (
        isinstance(inputs, list) and all(isinstance(c, dict) for c in inputs)
        if kind == "columns"
        else isinstance(inputs, dict)
    )
    if not ok:
        expected = "a list of column objects" if kind == "columns" else "an object"
        raise InvalidArgument(f"signature.inputs must be {expected}", field="signature")
    outputs = signature.get("outputs")
    if outputs is not None and not isinstance(outputs, (dict, list)):
        raise InvalidArgument("signature.outputs must be an object or null", field="signature")
    extra = sorted(str(k) for k in signature if k not in ("kind", "inputs", "outputs"))
    if extra:
        raise InvalidArgument(
            f"signature has unknown key(s) {extra[:5]}; it holds kind, inputs and outputs",
            field="signature",
        )
    if len(json.dumps(signature, default=str)) > MAX_SIGNATURE_CHARS:
        raise InvalidArgument(
            f"signature is larger than {MAX_SIGNATURE_CHARS // 1024} KiB as JSON",
            field="signature",
        )
    return signature
