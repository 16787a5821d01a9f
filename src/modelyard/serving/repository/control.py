"""The model repository extension: the index of what this server serves, and loading or
unloading a model on request. REST and gRPC both come here, so they refuse and answer alike.

Loading and unloading change what a running server answers, and the inference server asks
no one who they are, so both are refused (403, gRPC PERMISSION_DENIED) unless the server was
started with ``--model-control explicit`` (Triton's ``--model-control-mode=explicit``). Even
then a request only names a model: the server's repository is the models it was started
with, each loaded again from the source it was started from (an alias resolved anew). A
configuration or files sent with a load request (Triton's override) are refused, never
loaded: a model from the network could run code. A deployment's endpoint follows the store
and is changed there (409). The index needs no flag: it only reads.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.serving.protocol import jsonbody
from modelyard.serving.repository.fleet import Fleet

READY, UNAVAILABLE = "READY", "UNAVAILABLE"


def index_request(body: bytes) -> bool:
    """Whether ``POST /v2/repository/index`` asks for ready models only (``{"ready": true}``;
    an empty body, as tritonclient sends, asks for all)."""
    if not body.strip():
        return False
    doc = jsonbody.load(body)
    if not isinstance(doc, dict):
        raise InvalidArgument("the request must be a JSON object", field="body")
    for key in doc:
        if key != "ready":
            raise InvalidArgument(
                f"unknown key {key!r} in the index request; it takes ready", field=key
            )
    ready = doc.get("ready", False)
    if not isinstance(ready, bool):
        raise InvalidArgument("ready must be true or false", field="ready")
    return ready


def control_parameters(body: bytes) -> dict[str, Any]:
    """The ``parameters`` of a REST load or unload request (``{}`` or an empty body: none)."""
    if not body.strip():
        return {}
    doc = jsonbody.load(body)
    if not isinstance(doc, dict):
        raise InvalidArgument("the request must be a JSON object", field="body")
    for key in doc:
        if key != "parameters":
            raise InvalidArgument(
                f"unknown key {key!r} in the request; it takes parameters", field=key
            )
    found = doc.get("parameters", {})
    if not isinstance(found, dict):
        raise InvalidArgument("parameters must be an object", field="parameters")
    return found


class ModelControl:
    def __init__(self, fleet: Fleet, *, explicit: bool) -> None:
        self.fleet = fleet
        self.explicit = explicit

    def index(self, ready_only: bool = False) -> list[dict[str, str]]:
        """One entry per served version, and one per name not served now, in the order
        the server took them."""
        fleet, found = self.fleet, []
        for name in fleet.names:
            endpoint = fleet.endpoints.get(name)
            if endpoint is None:
                if not ready_only:
                    why = fleet.unloaded.get(name, "not loaded")
                    found.append({"name": name, "version": "", "state": UNAVAILABLE, "reason": why})
                continue
            versions = {fleet.models[k].version or "" for k, _ in endpoint.routes}
            for version in sorted(versions):
                found.append({"name": name, "version": version, "state": READY, "reason": ""})
        return found

    def _allowed(self, what: str, name: str) -> None:
        if not self.explicit:
            raise PermissionDenied(
                f"cannot {what} model {name!r}: this server does not load or unload models on "
                "request (start it with --model-control explicit to allow it)"
            )

    async def load(self, name: str, parameters: dict[str, Any]) -> None:
        self._allowed("load", name)
        for key in parameters:
            if key == "config":
                what = "configuration"
            elif key.startswith("file:"):
                what = "files"
            else:
                what = f"parameter {key!r}"
            raise InvalidArgument(
                f"a load request takes no {what}: this server loads a model only from the "
                "source it was started with",
                field=f"parameters.{key}",
            )
        await self.fleet.load_again(name)

    async def unload(self, name: str, parameters: dict[str, Any]) -> None:
        self._allowed("unload", name)
        for key, value in parameters.items():
            if key != "unload_dependents":
                raise InvalidArgument(
                    f"unknown parameter {key!r}; an unload request takes unload_dependents",
                    field=f"parameters.{key}",
                )
            if not isinstance(value, bool):  # no model here has dependents: nothing more
                raise InvalidArgument(
                    "parameters.unload_dependents must be true or false",
                    field="parameters.unload_dependents",
                )
        await self.fleet.unload(name)
