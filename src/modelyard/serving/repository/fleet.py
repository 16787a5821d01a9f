"""What one serving process serves: the loaded models (by key) and the endpoints in front of
them (by the name clients call), and how both change while requests flow.

A key is a model's name, or ``<endpoint>.routeN`` / ``<endpoint>.shadowN`` for an endpoint's
routes and shadows. Two things change a fleet: the Swapper (an alias moved: one key gets a
new version) and ``reconfigure`` (a deployment changed: new routes and shadows are loaded in
the background, then the endpoint is replaced in one assignment). Either way a request holds
the ``ServedModel`` it started with, and a version no longer served has its batcher closed
once its last call is done. A third, on request (``--model-control explicit``): ``unload``
stops serving a name, ``load_again`` loads it anew from the source it was started with; both
act only on what the server was started with, one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from modelyard.errors import Conflict, ModelyardError, NotFound
from modelyard.platform.store_health import StoreHealth
from modelyard.serving import metrics
from modelyard.serving.config import EndpointSpec, ModelSource, ServeConfig
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.repository.swap import Swapper, Watched, close_when_idle, watchable
from modelyard.serving.runtime import heap
from modelyard.serving.runtime.batching import Batcher
from modelyard.serving.runtime.loader import load_served
from modelyard.serving.runtime.served import ServedModel

log = logging.getLogger("modelyard.serving")


class NotServed(NotFound):
    """No endpoint or version by that name, or one unloaded (404, gRPC NOT_FOUND)."""


class Fleet:
    def __init__(self, config: ServeConfig, store: StoreHealth) -> None:
        self.config = config
        self.models: dict[str, ServedModel] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.swapper = Swapper(
            [],
            lambda key: self.models[key],
            self.replace,
            tracking_uri=config.tracking_uri,
            onnx_threads=config.onnx_threads,
            interval_s=config.watch_s,
            store=store,
        )
        self._counters: dict[str, int] = {}  # endpoint.role -> next number for its keys
        self._closing: set[asyncio.Task[None]] = set()
        self.names: list[str] = []  # every endpoint name, in the order the server took them
        # what each name was started from, to load it again (a deployment's is the store's)
        self.sources: dict[str, ModelSource | EndpointSpec] = {}
        self.followed: str | None = None  # the deployment's endpoint
        self.unloaded: dict[str, str] = {}  # name -> why it is not served now
        self._control = asyncio.Lock()  # one load or unload at a time

    # --- loading -----------------------------------------------------------------------
    def load(self, deployment: EndpointSpec | None = None) -> None:
        """Load everything the configuration names (and ``deployment``), warm, in place."""
        for source in self.config.models:
            served = self._serve(source)
            self.endpoints[served.name] = Endpoint(served.name, [(served.name, 1)])
            self.names.append(served.name)
            self.sources[served.name] = replace(source, name=served.name)
        for spec in (self.config.endpoint, deployment):
            if spec is None:
                continue
            if spec.name in self.endpoints:
                raise ModelyardError(f"endpoint {spec.name!r} clashes with a model's name")
            self._install_endpoint(spec, self._load_endpoint(spec, {}))
            self.names.append(spec.name)
            if spec is deployment:
                self.followed = spec.name
            else:
                self.sources[spec.name] = spec

    def _serve(self, source: ModelSource) -> ServedModel:
        served = self._load(source)
        if served.name in self.models:
            raise ModelyardError(f"two models are named {served.name!r}; pass a name")
        self.add(served)
        self._watch(served.name, source)
        return served

    def _load(self, source: ModelSource) -> ServedModel:
        try:
            served = load_served(source, self.config.tracking_uri, self.config.onnx_threads)
        except Exception:
            metrics.LOADS.labels(source.name or source.uri, "", "failed").inc()
            raise
        metrics.LOADS.labels(served.name, served.version or "", "ok").inc()
        return served

    def _watch(self, key: str, source: ModelSource) -> None:
        if self.config.watch_s > 0 and watchable(source):
            self.swapper.watch(Watched(key, source))

    def _key(self, endpoint: str, role: str) -> str:
        slot = f"{endpoint}.{role}"
        n = self._counters.get(slot, 0)
        self._counters[slot] = n + 1
        return f"{slot}{n}"

    def _load_endpoint(
        self, spec: EndpointSpec, reuse: dict[tuple[str, str], str]
    ) -> dict[str, Any]:
        """Load what ``spec`` needs (blocking): route and shadow keys, reusing the models of
        ``reuse`` ((role, URI) -> key) that are served already."""
        plan: dict[str, Any] = {"routes": [], "shadows": [], "new": []}
        for role, sources in (
            ("route", [(r.source, r.weight) for r in spec.routes]),
            ("shadow", [(s, 0) for s in spec.shadows]),
        ):
            for source, weight in sources:
                key = reuse.get((role, source.uri))
                if key is None:
                    key = self._key(spec.name, role)
                    served = self._load(replace(source, name=key))
                    plan["new"].append((served, source))
                plan["routes" if role == "route" else "shadows"].append((key, weight))
        return plan

    def _install_endpoint(self, spec: EndpointSpec, plan: dict[str, Any]) -> set[str]:
        """Put a loaded plan in place; the keys the endpoint no longer uses."""
        for served, source in plan["new"]:
            self.add(served)
            self._watch(served.name, source)
        sticky = spec.sticky_header.lower().encode() if spec.sticky_header else None
        old = self.endpoints.get(spec.name)
        new = Endpoint(spec.name, plan["routes"], [k for k, _ in plan["shadows"]], sticky)
        self.endpoints[spec.name] = new  # one assignment: the next request sees it all
        if old is None:
            return set()
        before = {k for k, _ in old.routes} | set(old.shadows)
        return before - ({k for k, _ in new.routes} | set(new.shadows))

    async def reconfigure(self, spec: EndpointSpec) -> None:
        """Move endpoint ``spec.name`` to new routes and shadows: what is new is loaded and
        warmed up on a thread, then everything is swapped at once. If a load fails nothing
        changes and the error is raised."""
        old = self.endpoints.get(spec.name)
        reuse: dict[tuple[str, str], str] = {}
        if old is not None:
            for key, _ in old.routes:
                reuse[("route", self.models[key].uri)] = key
            for key in old.shadows:
                reuse[("shadow", self.models[key].uri)] = key
        plan = await asyncio.to_thread(self._load_endpoint, spec, reuse)
        for key in self._install_endpoint(spec, plan):
            self.retire(key)

    def retire(self, key: str) -> None:
        """Stop serving ``key``: no longer watched, its batcher closed once idle. Both in one
        step: a key the swapper watches is always served (``Swapper.serving``)."""
        self.swapper.unwatch(key)
        served = self.models.pop(key, None)
        if served is not None:
            self._close_later(served)

    def replace(self, served: ServedModel) -> ServedModel | None:
        """``add``, then close the replaced version's batcher once idle (a hot swap)."""
        old = self.add(served)
        if old is not None:
            self._close_later(old)
        return old

    def _close_later(self, served: ServedModel) -> None:
        if served.batcher is not None:
            task = asyncio.get_running_loop().create_task(close_when_idle(served))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def add(self, served: ServedModel) -> ServedModel | None:
        """Serve ``served`` under its key from the next request on; the model it replaces."""
        if served.fast:
            served.batcher = Batcher(
                served.run_matrix,
                max_batch=self.config.max_batch,
                max_wait_ms=self.config.max_wait_ms,
                on_batch=metrics.BATCH.labels(served.name).observe,
                on_depth=metrics.QUEUE.labels(served.name).set,
                on_call=served.stats.executed,
            )
        old = self.models.get(served.name)
        self.models[served.name] = served  # one assignment: the swap
        heap.settle_new()
        return old

    # --- model control (on request) ---------------------------------------------------
    def _controllable(self, name: str) -> ModelSource | EndpointSpec:
        if name == self.followed:
            raise Conflict(
                f"model {name!r} follows deployment {name!r}: change the deployment "
                "(modelyard deployments update), not this server",
                field="name",
            )
        source = self.sources.get(name)
        if source is None:
            known = ", ".join(sorted(self.sources)) or "none"
            raise NotServed(
                f"model {name!r} is not in this server's repository (the models it was started "
                f"with that it can load: {known})"
            )
        return source

    async def unload(self, name: str) -> None:
        """Stop serving ``name``: its requests get 404 from now on (those in flight finish);
        its versions are no longer watched and their batchers close once idle."""
        self._controllable(name)
        async with self._control:
            endpoint = self.endpoints.pop(name, None)
            self.unloaded[name] = "unloaded on request"
            if endpoint is None:
                return  # unloaded already: nothing to do, as in Triton
            for key in {k for k, _ in endpoint.routes} | set(endpoint.shadows):
                self.retire(key)
            log.info("%s: unloaded on request", name)

    async def load_again(self, name: str) -> None:
        """Load ``name`` anew from the source it was started with (an alias is resolved
        again), warm it up on a thread, then serve it in one step. While it loads, a served
        ``name`` keeps its old version, which stays if the load fails; an unloaded one stays
        unloaded, with the failure as its reason."""
        source = self._controllable(name)
        async with self._control:
            try:
                if isinstance(source, ModelSource):
                    served = await asyncio.to_thread(self._load, source)
                    self.swapper.unwatch(name)  # a swap under way for the old one is dropped
                    self.replace(served)
                    self.endpoints[name] = Endpoint(name, [(name, 1)])
                    self._watch(name, source)
                else:
                    plan = await asyncio.to_thread(self._load_endpoint, source, {})
                    for key in self._install_endpoint(source, plan):
                        self.retire(key)
            except Exception as exc:
                if name in self.unloaded:
                    self.unloaded[name] = f"failed to load: {exc}"[:1000]
                raise
            self.unloaded.pop(name, None)
            log.info("%s: loaded on request", name)

    def close(self) -> None:
        for served in self.models.values():
            if served.batcher is not None:
                served.batcher.close()

    # --- lookups -----------------------------------------------------------------------
    def endpoint(self, name: str) -> Endpoint:
        found = self.endpoints.get(name)
        if found is None:
            why = self.unloaded.get(name)
            if why is not None:
                raise NotServed(
                    f"model {name!r} is not loaded ({why}); a repository load request for "
                    "it serves it again"
                )
            raise NotServed(f"model {name!r} is not served here")
        return found

    def default(self) -> Endpoint:
        """The endpoint ``/invocations`` answers for without ``?model=``: the first one the
        server took (404 while it is unloaded, never another model in its place)."""
        return self.endpoint(self.names[0])

    def model(
        self, endpoint: Endpoint, version: str | None, headers: dict[bytes, bytes]
    ) -> ServedModel:
        """The version that answers: the one asked for, else the route the split picks."""
        if version is None:
            return self.models[endpoint.pick(headers)]
        for key, _ in endpoint.routes:
            if self.models[key].version == version:
                return self.models[key]
        serving = sorted({str(self.models[k].version) for k, _ in endpoint.routes})
        raise NotServed(
            f"model {endpoint.name!r} version {version} is not served "
            f"(serving {', '.join(serving)})"
        )

    def described(self, endpoint: Endpoint, version: str | None) -> ServedModel:
        """The version whose configuration describes the endpoint: the one asked for, else
        its first route (not a random pick, so two reads agree)."""
        if version is None:
            return self.models[endpoint.routes[0][0]]
        return self.model(endpoint, version, {})

    def statistics(self, name: str | None, version: str | None) -> list[dict[str, Any]]:
        """Triton's ``model_stats``: for every version each endpoint routes to (or those of
        ``name``, or its ``version``), under the endpoint's name. Shadows are not listed."""
        names = [n for n in self.names if n in self.endpoints] if name is None else [name]
        found: list[dict[str, Any]] = []
        for each in names:
            endpoint = self.endpoint(each)
            if version is not None:
                chosen = [self.model(endpoint, version, {})]
            else:
                chosen = list({k: self.models[k] for k, _ in endpoint.routes}.values())
            found.extend(m.stats.to_dict(each, m.version or "") for m in chosen)
        return found

    def shadows(self, endpoint: Endpoint) -> list[ServedModel]:
        """The endpoint's shadows still served (a reconfigure may have retired some of an
        endpoint a request took before it)."""
        found = (self.models.get(k) for k in endpoint.shadows)
        return [m for m in found if m is not None]

    def metadata(self, endpoint: Endpoint, served: ServedModel) -> dict[str, Any]:
        meta = served.metadata()
        meta["name"] = endpoint.name
        versions = {self.models[k].version for k, _ in endpoint.routes}
        meta["versions"] = sorted(v for v in versions if v)
        errors = self.swapper.errors
        found = [errors[k] for k, _ in endpoint.routes if k in errors]
        if found:
            meta["swap_error"] = "; ".join(found)  # the old version is still serving
        return meta
