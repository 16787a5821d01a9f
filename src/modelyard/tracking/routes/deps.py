"""What tracking routes need from the app: the backend the server was started with."""

from __future__ import annotations

from starlette.requests import Request

from modelyard.tracking.backends import Backend


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.tracking
    return found
