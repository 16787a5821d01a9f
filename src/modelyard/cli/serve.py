"""``modelyard serve``: run the inference server for models, an endpoint or a deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.serving.config import (
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_ROWS,
    EndpointSpec,
    ModelSource,
    Route,
    ServeConfig,
    default_log_folder,
)


def _source(text: str) -> ModelSource:
    """``URI`` or ``NAME=URI``."""
    name, sep, uri = text.partition("=")
    if sep and "://" not in name and ":/" not in name:
        return ModelSource(uri, name)
    return ModelSource(text)


def _route(text: str) -> Route:
    """``URI=WEIGHT``."""
    uri, sep, weight = text.rpartition("=")
    if not sep or not weight.isdigit():
        raise InvalidArgument(f"--route {text!r} must be URI=WEIGHT, e.g. models:/churn@a=90")
    return Route(ModelSource(uri), int(weight))


def _endpoint(
    name: str | None, routes: list[str] | None, shadows: list[str] | None, sticky: str | None
) -> EndpointSpec | None:
    """The endpoint ``--endpoint``, ``--route`` and ``--shadow`` make, if any."""
    if not (routes or shadows):
        return None
    if not name or not routes:
        raise InvalidArgument("--route and --shadow need --endpoint NAME and a --route")
    return EndpointSpec(
        name, [_route(r) for r in routes], [ModelSource(u) for u in shadows or []], sticky
    )


# the options of ``serve``, one alias each, so that its signature reads as a list
_Models = Annotated[
    list[str] | None,
    typer.Argument(
        help="Model URIs (models:/name@alias, models:/name/3, runs:/<id>/model, a folder), "
        "each optionally NAME=URI"
    ),
]
_Endpoint = Annotated[
    str | None, typer.Option(help="The name clients call for --route/--shadow models.")
]
_Route = Annotated[
    list[str] | None,
    typer.Option(help="URI=WEIGHT, repeated: split the endpoint's traffic (canary, A/B)."),
]
_Shadow = Annotated[
    list[str] | None,
    typer.Option(help="URI, repeated: gets every request's input; never answers."),
]
_StickyHeader = Annotated[
    str | None, typer.Option(help="Route by a hash of this header (e.g. x-user-id).")
]
_Deployment = Annotated[
    str | None,
    typer.Option(help="Serve a deployment from the store and follow its changes."),
]
_Host = Annotated[str, typer.Option(help="Address to bind; loopback unless told.")]
_Port = Annotated[int, typer.Option()]
_GrpcPort = Annotated[
    int | None,
    typer.Option(
        help="Also serve the protocol over gRPC on this port (KServe v2 / Triton's "
        "GRPCInferenceService; needs the grpc extra)."
    ),
]
_ModelControl = Annotated[
    str,
    typer.Option(
        help="none: models are fixed at start; explicit: clients may unload and load "
        "them again (repository load/unload requests; one worker only)."
    ),
]
_Workers = Annotated[int, typer.Option(help="Processes sharing the port(s).")]
_MaxBatch = Annotated[int, typer.Option(help="Most rows one model call takes.")]
_MaxWaitMs = Annotated[
    float, typer.Option(help="How long a lone request may wait for company (0: never).")
]
_MaxBodyBytes = Annotated[int, typer.Option(help="Larger bodies get 413.")]
_MaxRows = Annotated[int, typer.Option(help="Most rows one request may hold; more get 400.")]
_MaxInflight = Annotated[
    int, typer.Option(help="Requests in flight per process; more get 503 + Retry-After.")
]
_Timeout = Annotated[float, typer.Option(help="Seconds one inference may take (504).")]
_WatchSeconds = Annotated[
    float,
    typer.Option(help="How often aliases and the deployment are checked (0: never)."),
]
_PredictionLog = Annotated[
    str | None,
    typer.Option(help="Folder of the prediction log (default: one per store in the cache)."),
]
_NoPredictionLog = Annotated[
    bool,
    typer.Option(
        "--no-prediction-log",
        help="Log no predictions (monitoring then has nothing to read).",
    ),
]
_LogFsyncMs = Annotated[
    float, typer.Option(help="Sync the log at most this often: what a lost machine loses.")
]
_LogRequired = Annotated[
    bool, typer.Option(help="Refuse predictions (503) while the log cannot take them.")
]
_LogProbabilities = Annotated[
    bool,
    typer.Option(
        "--log-probabilities",
        help="Log a classifier's class probabilities for every request (for ROC AUC, log "
        "loss and calibration in monitoring), not only when a client asks for them.",
    ),
]
_TrackingUri = Annotated[
    str | None, typer.Option("--tracking-uri", "-t", help="The store models:/ URIs name.")
]
_LogLevel = Annotated[str, typer.Option()]
_Import = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        help="MODULE, repeated: imported first, so the PythonModel classes it defines load "
        "(a model file never picks code to import).",
    ),
]
_Auth = Annotated[
    bool,
    typer.Option(
        "--auth",
        help="Every route and gRPC method but the health probes needs a serving token the "
        "platform signed (modelyard tokens serving ENDPOINT).",
    ),
]
_AuthIssuer = Annotated[
    str | None,
    typer.Option(
        "--auth-issuer",
        help="The platform that signs serving tokens (its MODELYARD_PUBLIC_URL); default: "
        "the tracking URI when it is a server.",
    ),
]
_AuthJwks = Annotated[
    str | None,
    typer.Option("--auth-jwks", help="The platform's public keys from a file (JWKS JSON)."),
]
_AuthOidcIssuer = Annotated[
    str | None,
    typer.Option(
        "--auth-oidc-issuer",
        help="Accept the access tokens of this OpenID provider too (scope predict:ENDPOINT).",
    ),
]
_AuthOidcAudience = Annotated[
    str | None,
    typer.Option(
        "--auth-oidc-audience",
        help="The audience the provider's tokens must name (default: modelyard-serve).",
    ),
]


def serve(
    models: _Models = None,
    endpoint: _Endpoint = None,
    route: _Route = None,
    shadow: _Shadow = None,
    sticky_header: _StickyHeader = None,
    deployment: _Deployment = None,
    host: _Host = "127.0.0.1",
    port: _Port = 8080,
    grpc_port: _GrpcPort = None,
    model_control: _ModelControl = "none",
    workers: _Workers = 1,
    max_batch: _MaxBatch = 64,
    max_wait_ms: _MaxWaitMs = 0.0,
    max_body_bytes: _MaxBodyBytes = DEFAULT_MAX_BODY,
    max_rows: _MaxRows = DEFAULT_MAX_ROWS,
    max_inflight: _MaxInflight = 256,
    timeout: _Timeout = 30.0,
    watch_seconds: _WatchSeconds = 5.0,
    prediction_log: _PredictionLog = None,
    no_prediction_log: _NoPredictionLog = False,
    log_fsync_ms: _LogFsyncMs = 200.0,
    log_required: _LogRequired = False,
    log_probabilities: _LogProbabilities = False,
    tracking_uri: _TrackingUri = None,
    log_level: _LogLevel = "info",
    import_: _Import = None,
    auth: _Auth = False,
    auth_issuer: _AuthIssuer = None,
    auth_jwks: _AuthJwks = None,
    auth_oidc_issuer: _AuthOidcIssuer = None,
    auth_oidc_audience: _AuthOidcAudience = None,
) -> None:
    """Serve models over the Open Inference Protocol (/v2/...) and MLflow's /invocations."""
    from modelyard.serving.runner import serve as run

    if workers < 1:
        raise InvalidArgument("--workers must be at least 1", field="workers")
    config = ServeConfig(
        [_source(m) for m in models or []],
        endpoint=_endpoint(endpoint, route, shadow, sticky_header),
        deployment=deployment,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_body_bytes=max_body_bytes,
        body_timeout_s=Settings.from_env().body_timeout_s,
        max_rows=max_rows,
        tracking_uri=tracking_uri,
        max_inflight=max_inflight,
        timeout_s=timeout,
        watch_s=watch_seconds,
        prediction_log=None
        if no_prediction_log
        else (prediction_log or default_log_folder(tracking_uri)),
        log_fsync_ms=log_fsync_ms,
        log_required=log_required,
        log_probabilities=log_probabilities,
        imports=list(import_ or []),
        grpc_port=grpc_port,
        grpc_host=host,
        model_control=model_control,
        workers=workers,
        auth=auth,
        auth_issuer=auth_issuer or (_server_uri(tracking_uri) if auth else None),
        auth_jwks=auth_jwks,
        auth_oidc_issuer=auth_oidc_issuer,
        auth_oidc_audience=auth_oidc_audience,
    )
    if grpc_port is not None:  # say a missing extra before any model loads
        from modelyard.serving.inference import require_grpc

        require_grpc()
    run(config, host=host, port=port, workers=workers, log_level=log_level)


def _server_uri(tracking_uri: str | None) -> str | None:
    """The tracking URI when it is a modelyard server (it signs the serving tokens)."""
    from modelyard.platform.current import chosen_uri

    uri = tracking_uri if tracking_uri is not None else chosen_uri(Settings.from_env())
    return uri.rstrip("/") if uri and uri.startswith(("http://", "https://")) else None
