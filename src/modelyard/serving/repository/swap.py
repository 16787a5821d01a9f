"""Hot swap: a served alias (``models:/churn@champion``, or ``/latest``) is watched, and when
the registry moves it the new version is loaded and warmed up in the background, then put in
place in one step.

Each request holds the ``ServedModel`` (and its batcher) it started with, so requests in
flight finish on the version that took them while new ones go to the new version. If the
new version fails to load or warm up, the old one keeps serving; the failure is logged
(once, not at each retry), counted in ``modelyard_model_loads_total{outcome="failed"}`` and
shown in the model's metadata (``swap_error``) until a later version loads. The old
version's batcher is closed once its last call has returned. A store that is away is said
once (``platform.store_health.StoreHealth``), not at each look.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from modelyard.errors import ModelyardError, Unavailable
from modelyard.platform.store_health import StoreHealth
from modelyard.registry.names import parse_model_uri
from modelyard.serving import metrics
from modelyard.serving.config import ModelSource
from modelyard.serving.repository.polling import Poller, retry_due, retry_time
from modelyard.serving.runtime.loader import load_served
from modelyard.serving.runtime.served import ServedModel

log = logging.getLogger("modelyard.serving")


@dataclass
class Watched:
    name: str  # the protocol name
    source: ModelSource  # the URI as given: models:/<registered>@<alias> or .../latest


def watchable(source: ModelSource) -> bool:
    """Whether the URI names something the registry can move (an alias or 'latest')."""
    if not source.uri.startswith("models:/"):
        return False
    ref = parse_model_uri(source.uri)
    return ref.version is None


def resolve_version(source: ModelSource, tracking_uri: str | None) -> str:
    from modelyard.config import Settings
    from modelyard.registry.client import RegistryClient

    client = RegistryClient(tracking_uri, settings=Settings.from_env())
    return str(client.resolve_model_uri(source.uri).version)


class Swapper(Poller):
    def __init__(
        self,
        watched: list[Watched],
        current: Callable[[str], ServedModel],
        install: Callable[[ServedModel], ServedModel | None],
        *,
        tracking_uri: str | None,
        onnx_threads: int,
        interval_s: float,
        store: StoreHealth,
    ) -> None:
        self.watched = {w.name: w for w in watched}
        self.current = current
        self.install = install  # puts the new model in place, retires the old; returns it
        self.tracking_uri = tracking_uri
        self.onnx_threads = onnx_threads
        self.interval_s = interval_s
        self.store = store
        self.said: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        # name -> (version that failed, when to try it again; None: never, it is broken)
        self._failed: dict[str, tuple[str, float | None]] = {}

    def watch(self, item: Watched) -> None:
        self.watched[item.name] = item

    def unwatch(self, name: str) -> None:
        self.watched.pop(name, None)
        self.said.pop(name, None)
        self.errors.pop(name, None)
        self._failed.pop(name, None)

    def serving(self, item: Watched) -> bool:
        """Whether ``item`` is still watched: a deployment that moves retires its old routes
        (unwatched and no longer served, in one step) while a look at them may be under way,
        so every look asks again after each wait."""
        return self.watched.get(item.name) is item

    async def poll(self) -> None:
        for item in list(self.watched.values()):
            if not self.serving(item):
                continue  # retired while an earlier item was looked at
            what = f"{item.name}: cannot check {item.source.uri} for a new version"
            try:
                await self.check(item)
            except Unavailable as exc:  # the store is away: keep serving, look again later
                self.store.failed(exc)
                return  # the other items too wait for the next look
            except ModelyardError as exc:  # the registry refused (the alias deleted, say)
                self.refused(item.name, what, exc)
            except Exception:  # a bug: said with its traceback; the others are looked at
                log.exception("%s", what)
            else:
                self.said.pop(item.name, None)

    async def check(self, item: Watched) -> bool:
        """Swap ``item`` to the version its alias names now; whether it swapped."""
        version = await asyncio.to_thread(resolve_version, item.source, self.tracking_uri)
        self.store.answered()
        if not self.serving(item):
            return False  # retired meanwhile: nothing to compare with
        if version == self.current(item.name).version:
            return False
        failed = self._failed.get(item.name)
        if failed is not None and failed[0] == version and not retry_due(failed[1]):
            return False
        ref = parse_model_uri(item.source.uri)
        pinned = ModelSource(f"models:/{ref.name}/{version}", item.name)
        try:
            new = await asyncio.to_thread(load_served, pinned, self.tracking_uri, self.onnx_threads)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the old version serving
            if not self.serving(item):
                return False  # retired meanwhile: its failure concerns nothing served
            self._failed[item.name] = (version, retry_time(exc))
            error = f"version {version} failed to load: {exc}"[:1000]
            metrics.LOADS.labels(item.name, version, "failed").inc()
            if self.errors.get(item.name) != error:  # a retry that fails alike is no news
                log.error(
                    "%s: version %s failed to load; still serving the old one: %s",
                    item.name,
                    version,
                    exc,
                )
            self.errors[item.name] = error
            return False
        if not self.serving(item):
            return False  # the deployment stopped serving it meanwhile
        new.uri = item.source.uri
        old = self.install(new)
        self._failed.pop(item.name, None)
        self.errors.pop(item.name, None)
        metrics.LOADS.labels(item.name, version, "ok").inc()
        log.info(
            "%s: now serving version %s (was %s)", item.name, version, old.version if old else None
        )
        return True


async def close_when_idle(old: ServedModel) -> None:
    """Close the replaced version's batcher once no request holds the version (one may still
    be reading its body) and no call runs."""
    batcher = old.batcher
    assert batcher is not None
    while old.active or batcher.busy:
        await asyncio.sleep(0.05)
    await asyncio.to_thread(batcher.close)
    # the batcher holds the model's bound method: a cycle. Once the heap is frozen
    # (serving/runtime/heap.py) the collector no longer walks it, so break it here, and the
    # replaced model is freed by reference counting
    old.batcher = None
