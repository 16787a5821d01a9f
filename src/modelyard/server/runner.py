"""Running the server process: uvicorn with one worker, loopback unless told otherwise.

Accepted sockets get TCP_NODELAY from the event loop itself (asyncio and uvloop set it on every
TCP transport); the Nagle delay seen with uvicorn (uvicorn#3149) is in its multi-worker mode,
which this runner does not use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import uvicorn

from modelyard import logs
from modelyard.config import Settings
from modelyard.pipelines.entrypoints import load_pipelines
from modelyard.server.app import create_app
from modelyard.webapi.draining import DrainingHttpProtocol, DrainingServer


def serve(
    store_uri: str | None,
    *,
    artifacts_uri: str | None = None,
    host: str = "127.0.0.1",
    port: int = 5000,
    log_level: str = "info",
    auth: bool = False,
    pipelines: Sequence[str] = (),
) -> None:
    settings = Settings.from_env()
    if artifacts_uri is not None:
        settings = replace(settings, artifacts_uri=artifacts_uri)
    if auth:
        settings = replace(settings, auth=True)
    logs.configure(log_level)
    code = [p for target in pipelines for p in load_pipelines(target)]
    if code and artifacts_uri is not None:  # what steps read and write with yard.* goes
        os.environ["MODELYARD_ARTIFACTS_URI"] = artifacts_uri  # to this server's artifacts
    app = create_app(store_uri, settings=settings, pipelines=code)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        http=DrainingHttpProtocol,  # answers what arrives while it stops
        # the client's address is the connection's: an X-Forwarded-For header (which any
        # caller on this host could send) must not pick the bucket of the login limits
        proxy_headers=False,
    )
    DrainingServer(config).run()
