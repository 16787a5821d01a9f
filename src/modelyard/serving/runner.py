"""Running the inference server: uvicorn, one process or several on one port.

With one worker the app is built (models loaded and warmed up) before the socket opens. With
several, uvicorn's supervisor starts N processes that each build the app from the
configuration passed in ``MODELYARD_SERVE_CONFIG``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from typing import Any

import uvicorn

from modelyard import logs
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ENV, ServeConfig
from modelyard.serving.metrics import MULTIPROC
from modelyard.serving.runtime import heap
from modelyard.webapi.draining import DrainingHttpProtocol, DrainingServer, ListenerFirstSupervisor


def serve(
    config: ServeConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    logs.configure(log_level)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 30,
        "http": DrainingHttpProtocol,  # answers what arrives while it stops
    }
    if (config.workers, config.log_level) != (workers, log_level):  # the app needs to know
        config = replace(config, workers=workers, log_level=log_level)  # (gRPC, model control)
    if workers > 1 and config.onnx_threads == 0:  # processes must not fight over the cores
        config = replace(config, onnx_threads=max(1, (os.cpu_count() or 1) // workers))
    if workers <= 1:
        app = ServingApp(config)
        heap.settle()
        try:
            DrainingServer(uvicorn.Config(app, **common)).run()
        except SystemExit:  # uvicorn's exit when the app refuses to start: say why, once
            if app.startup_error is not None:  # (a gRPC port taken)
                raise app.startup_error from None
            raise
        return
    os.environ[ENV] = config.to_env()
    # every worker writes its metrics here; a scrape of any worker adds them all up
    os.environ.setdefault(MULTIPROC, tempfile.mkdtemp(prefix="modelyard-metrics-"))
    several = uvicorn.Config(
        "modelyard.serving.app:create_from_env", factory=True, workers=workers, **common
    )
    ListenerFirstSupervisor(several, sockets=[several.bind_socket()]).run()
