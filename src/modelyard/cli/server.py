"""``modelyard server``: serve a store over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer


def server(
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            envvar="MODELYARD_STORE_URI",
            help="Metadata store: folder, sqlite:///file.db or postgresql+psycopg://...",
        ),
    ] = None,
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            envvar="MODELYARD_ARTIFACTS_URI",
            help="Artifact root: folder or s3://bucket/prefix",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 5000,
    log_level: Annotated[str, typer.Option()] = "info",
    auth: Annotated[
        bool,
        typer.Option(
            "--auth",
            envvar="MODELYARD_AUTH",
            help="Authenticate every request (passwords, API tokens) and check its "
            "permissions; the store needs a global admin (modelyard users create NAME "
            "--role admin).",
        ),
    ] = False,
    pipelines: Annotated[
        list[str] | None,
        typer.Option(
            "--pipelines",
            help="Pipeline code this server runs: FILE.py or MODULE (every pipeline in it), "
            "or FILE.py:NAME; repeatable. Their schedules and triggers fire here, and their "
            "queued runs run here.",
        ),
    ] = None,
) -> None:
    """Run the tracking server (its OpenAPI description at /openapi.json)."""
    from modelyard.server.runner import serve

    serve(
        store, artifacts_uri=artifacts, host=host, port=port, log_level=log_level, auth=auth,
        pipelines=pipelines or (),
    )  # fmt: skip
