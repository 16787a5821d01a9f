"""What data routes need from the app: the data backend the server was started with."""

from __future__ import annotations

from starlette.requests import Request

from modelyard.data.backends import DataBackend


def data(request: Request) -> DataBackend:
    found: DataBackend = request.app.state.data
    return found
