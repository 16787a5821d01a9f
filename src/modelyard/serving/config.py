"""What a serving process serves and how: the models (URI and the name clients use), batching
limits, body limit. Travels to uvicorn's worker processes as JSON in one environment
variable, so every worker builds the same app."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument

ENV = "MODELYARD_SERVE_CONFIG"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
DEFAULT_MAX_ROWS = 100_000
MODEL_CONTROL = ("none", "explicit")


@dataclass(frozen=True)
class ModelSource:
    uri: str  # models:/name@alias, models:/name/3, runs:/<id>/model or a folder
    name: str | None = None  # the protocol name; default: the registered name or folder name


@dataclass(frozen=True)
class Route:
    source: ModelSource
    weight: int  # share of the traffic, relative to the other routes' weights


@dataclass(frozen=True)
class EndpointSpec:
    """One name in front of several versions: weighted routes (a canary, an A/B test) and
    shadows that see every request's input but never answer."""

    name: str
    routes: list[Route]
    shadows: list[ModelSource] = field(default_factory=list)
    sticky_header: str | None = None  # e.g. x-user-id: one user stays on one route

    def __post_init__(self) -> None:
        if not self.routes:
            raise InvalidArgument("an endpoint needs at least one route", field="routes")
        if any(r.weight < 0 for r in self.routes) or sum(r.weight for r in self.routes) <= 0:
            raise InvalidArgument(
                "route weights must be non-negative and not all zero", field="routes"
            )


@dataclass(frozen=True)
class ServeConfig:
    models: list[ModelSource] = field(default_factory=list)
    endpoint: EndpointSpec | None = None
    deployment: str | None = None  # a deployment in the store, followed as it changes
    max_batch: int = 64
    max_wait_ms: float = 0.0
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_rows: int = DEFAULT_MAX_ROWS  # rows in one request (Triton's max batch size): more, 400
    tracking_uri: str | None = None
    onnx_threads: int = 0  # per process; `modelyard serve --workers N` gives each cores / N
    max_inflight: int = 256  # per process: requests beyond it get 503 + Retry-After at once
    timeout_s: float = 30.0  # one inference; longer ones are answered 504
    watch_s: float = 5.0  # how often served aliases are checked for a new version; 0: never
    prediction_log: str | None = None  # folder of the prediction log; None: no log
    log_fsync_ms: float = 200.0  # at most this much of the log is lost with the machine
    log_roll_s: float = 60.0  # a segment is closed (and shipped) after this long
    log_required: bool = False  # refuse predictions (503) while the log cannot take them
    log_probabilities: bool = False  # a classifier's probabilities logged for every request
    ship_s: float = 5.0  # how often closed segments are shipped to the store
    imports: list[str] = field(default_factory=list)  # the user's modules, imported first
    body_timeout_s: float = 30.0  # a request body must arrive within this; else 408
    grpc_port: int | None = None  # serve the protocol over gRPC too (the grpc extra)
    grpc_host: str = "127.0.0.1"
    model_control: str = "none"  # explicit: load/unload on request (one worker only)
    workers: int = 1  # processes sharing the ports (set by `modelyard serve`)
    log_level: str = "info"  # each worker process logs at this level too
    # --auth: every route and gRPC method but the health probes needs a serving token the
    # platform at auth_issuer signed (its keys from {auth_issuer}/api/v1/auth/jwks.json, or
    # auth_jwks)
    auth: bool = False
    auth_issuer: str | None = None
    auth_jwks: str | None = None
    # and access tokens an OpenID provider signed for auth_oidc_audience, with the same scopes
    auth_oidc_issuer: str | None = None
    auth_oidc_audience: str | None = None

    def __post_init__(self) -> None:
        if not self.models and self.endpoint is None and self.deployment is None:
            raise InvalidArgument(
                "serve at least one model URI, an endpoint or a deployment", field="models"
            )
        if not 1 <= self.max_batch <= 65536:
            raise InvalidArgument("max_batch must be from 1 to 65536", field="max_batch")
        if not 0 <= self.max_wait_ms <= 1000:
            raise InvalidArgument("max_wait_ms must be from 0 to 1000", field="max_wait_ms")
        if self.max_inflight < 1:
            raise InvalidArgument("max_inflight must be at least 1", field="max_inflight")
        if not 0 < self.timeout_s <= 3600:
            raise InvalidArgument("timeout_s must be from 0 to 3600 seconds", field="timeout_s")
        if not 0 <= self.watch_s <= 86400:
            raise InvalidArgument("watch_s must be from 0 to 86400 seconds", field="watch_s")
        if not 0 <= self.log_fsync_ms <= 60_000:
            raise InvalidArgument("log_fsync_ms must be from 0 to 60000", field="log_fsync_ms")
        if not 0.05 <= self.log_roll_s <= 86400 or not 0.05 <= self.ship_s <= 86400:
            raise InvalidArgument(
                "log_roll_s and ship_s must be from 0.05 to 86400 seconds", field="log_roll_s"
            )
        for name in self.imports:
            if not isinstance(name, str) or not _MODULE.fullmatch(name):
                raise InvalidArgument(
                    f"--import takes a module's dotted name (mypkg.models), not {name!r}",
                    field="imports",
                )
        if not 0 < self.body_timeout_s <= 3600:
            raise InvalidArgument(
                "body_timeout_s must be from 0 to 3600 seconds", field="body_timeout_s"
            )
        if not 1 <= self.max_rows <= 1 << 28:
            raise InvalidArgument("max_rows must be from 1 to 2**28", field="max_rows")
        if self.max_body_bytes < 1024:
            raise InvalidArgument("max_body_bytes must be at least 1024", field="max_body_bytes")
        if self.auth and not self.auth_issuer:
            raise InvalidArgument(
                "--auth needs the platform that signs serving tokens (--auth-issuer URL, by "
                "default the tracking URI when it is a server)",
                field="auth_issuer",
            )
        if self.auth_oidc_issuer is not None and not self.auth:
            raise InvalidArgument("--auth-oidc-issuer goes with --auth", field="auth_oidc_issuer")
        if self.grpc_port is not None and not 0 <= self.grpc_port <= 65535:
            raise InvalidArgument("grpc_port must be from 0 to 65535", field="grpc_port")
        if self.model_control not in MODEL_CONTROL:
            raise InvalidArgument(
                f"model_control must be one of {', '.join(MODEL_CONTROL)}, not "
                f"{self.model_control!r}",
                field="model_control",
            )
        if self.workers < 1:
            raise InvalidArgument("workers must be at least 1", field="workers")
        if self.model_control == "explicit" and self.workers > 1:
            raise InvalidArgument(
                "--model-control explicit needs one worker: a load or unload request would "
                "reach only the process that took it",
                field="model_control",
            )

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServeConfig:
        models = [ModelSource(**m) for m in data.get("models", [])]
        endpoint = None
        if data.get("endpoint"):
            e = data["endpoint"]
            endpoint = EndpointSpec(
                e["name"],
                [Route(ModelSource(**r["source"]), r["weight"]) for r in e["routes"]],
                [ModelSource(**m) for m in e.get("shadows", [])],
                e.get("sticky_header"),
            )
        return cls(**{**data, "models": models, "endpoint": endpoint})

    @classmethod
    def from_env(cls) -> ServeConfig:
        raw = os.environ.get(ENV)
        if not raw:
            raise InvalidArgument(f"{ENV} is not set: start workers with `modelyard serve`")
        return cls.from_dict(json.loads(raw))


def default_log_folder(tracking_uri: str | None) -> str:
    """Where ``modelyard serve`` keeps its prediction log unless told: one folder per store
    (servers of one store may ship each other's segments; of two stores, never)."""
    import hashlib

    from modelyard.config import DEFAULT_DATA_DIR, Settings
    from modelyard.platform.current import chosen_uri

    settings = Settings.from_env()
    uri = tracking_uri if tracking_uri is not None else chosen_uri(settings)
    uri = uri or str(Path(DEFAULT_DATA_DIR).resolve())  # the embedded default, here
    key = hashlib.sha256(str(uri).encode()).hexdigest()[:12]
    return str(settings.cache_dir.parent / "predictions" / key)
