"""What tracking routes need from the app: tracking's part of the store the server was
started with."""

from __future__ import annotations

from starlette.requests import Request

from modelyard.platform.backends import Backend
from modelyard.tracking.backends import TrackingParts, tracking_parts


def tracking(request: Request) -> TrackingParts:
    found: Backend = request.app.state.tracking
    return tracking_parts(found)
