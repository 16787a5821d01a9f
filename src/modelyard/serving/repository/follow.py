"""Following a deployment: ``modelyard serve --deployment NAME`` reads the deployment from
the store at start, then polls it every ``watch_s`` seconds. A new revision is loaded in the
background and put in place at once (``Fleet.reconfigure``); until then, and if it fails,
the previous routes keep serving. A deleted deployment keeps its last routes serving, with
a warning in the log (once) and in ``/v2/health/ready``.
"""

from __future__ import annotations

import asyncio
import logging

from modelyard.errors import ModelyardError, NotFound
from modelyard.platform.store_health import StoreHealth
from modelyard.registry.deployments import Deployment
from modelyard.serving import metrics
from modelyard.serving.config import EndpointSpec, ModelSource, Route
from modelyard.serving.repository.fleet import Fleet
from modelyard.serving.repository.polling import Poller, retry_due, retry_time

log = logging.getLogger("modelyard.serving")


def endpoint_spec(found: Deployment) -> EndpointSpec:
    return EndpointSpec(
        found.name,
        [Route(ModelSource(r.model_uri), r.weight) for r in found.routes],
        [ModelSource(s) for s in found.shadows],
        found.sticky_header,
    )


def fetch(name: str, tracking_uri: str | None) -> Deployment:
    from modelyard.config import Settings
    from modelyard.registry.client import RegistryClient

    return RegistryClient(tracking_uri, settings=Settings.from_env()).get_deployment(name)


class Follower(Poller):
    def __init__(
        self,
        name: str,
        fleet: Fleet,
        *,
        tracking_uri: str | None,
        interval_s: float,
        store: StoreHealth,
    ):
        self.name = name
        self.fleet = fleet
        self.tracking_uri = tracking_uri
        self.interval_s = interval_s
        self.store = store
        self.said: dict[str, str] = {}
        self.revision: int | None = None
        self.created: int | None = None  # a deployment deleted and made again starts over
        self.error: str | None = None
        # (created, revision) that failed to load, and when to try it again (None: never)
        self._failed: tuple[tuple[int, int], float | None] | None = None

    def load(self) -> EndpointSpec:
        """The deployment as it is now (blocking; the start of the server)."""
        found = fetch(self.name, self.tracking_uri)
        self.revision, self.created = found.revision, found.created_time
        metrics.REVISION.labels(self.name).set(found.revision)
        return endpoint_spec(found)

    async def poll(self) -> None:
        try:
            await self.check()
        except ModelyardError as exc:  # the store away, or refusing: keep serving
            self.refused(self.name, f"deployment {self.name}: cannot read it", exc)
        else:
            self.said.pop(self.name, None)

    async def check(self) -> bool:
        """Move to the deployment's current revision; whether it moved."""
        try:
            found = await asyncio.to_thread(fetch, self.name, self.tracking_uri)
        except NotFound:
            self.store.answered()
            deleted = (
                f"deployment {self.name!r} was deleted; still serving revision {self.revision}"
            )
            if self.error != deleted:
                log.warning("%s", deleted)
            self.error = deleted
            return False
        self.store.answered()
        if found.revision == self.revision and found.created_time == self.created:
            if self.error and self.error.startswith(f"deployment {self.name!r} was deleted"):
                self.error = None
            return False
        failed = self._failed
        key = (found.created_time, found.revision)
        if failed is not None and failed[0] == key and not retry_due(failed[1]):
            return False
        try:
            await self.fleet.reconfigure(endpoint_spec(found))
        except Exception as exc:  # noqa: BLE001 - the old routes keep serving
            self._failed = ((found.created_time, found.revision), retry_time(exc))
            error = (
                f"deployment {self.name!r} revision {found.revision} failed to load; still "
                f"serving revision {self.revision}: {exc}"
            )[:1000]
            if self.error != error:  # a retry that fails alike is no news
                log.error("%s", error)
            self.error = error
            return False
        log.info(
            "deployment %s: now serving revision %s (was %s)",
            self.name,
            found.revision,
            self.revision,
        )
        self.revision, self._failed, self.error = found.revision, None, None
        self.created = found.created_time
        metrics.REVISION.labels(self.name).set(found.revision)
        return True
