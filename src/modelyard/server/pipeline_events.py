"""The events pipeline triggers watch, read from the other domains' stores on the server's
own database: new dataset versions, new model versions, alias moves and alerts opened. The
server composes them here (it alone knows every domain); each answers the events after a
time, oldest first, and raises NotFound while what it watches does not exist."""

from __future__ import annotations

from typing import Any

from modelyard.data.backends import data_backend
from modelyard.monitoring.backends import monitoring_store
from modelyard.pipelines.events import Event, EventSource
from modelyard.platform.backends import Backend
from modelyard.registry.backends import registry_store

PAGE = 100  # events read per trigger and tick at most; the rest the next tick


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"  # the quote doubled stands for itself


def event_sources(backend: Backend) -> dict[str, EventSource]:
    data = data_backend(backend).store
    registry = registry_store(backend)
    monitoring = monitoring_store(backend)

    def datasets(trigger: dict[str, Any], since: int) -> list[Event]:
        name = str(trigger["target"])
        versions, _ = data.list_versions_page(name, limit=PAGE)  # newest first
        fresh = [v for v in reversed(versions) if v.created_time > since]
        return [
            Event(str(v.version), v.created_time, f"dataset {name} version {v.version}")
            for v in fresh
        ]

    def models(trigger: dict[str, Any], since: int) -> list[Event]:
        name = str(trigger["target"])
        registry.models.get(name)  # NotFound until it exists
        if trigger.get("event") == "alias_moved":
            return _alias_moves(registry, name, trigger.get("alias"), since)
        found, _ = registry.versions.search(
            f"name = {_quoted(name)} AND created_time > {int(since)}",
            ["created_time ASC", "version ASC"],
            max_results=PAGE,
        )
        return [
            Event(f"v{v.version}", v.created_time, f"model {name} version {v.version} created")
            for v in found
        ]

    def alerts(trigger: dict[str, Any], since: int) -> list[Event]:
        monitor = str(trigger["target"])
        found = monitoring.list_alerts(monitor=monitor, limit=1000)
        opened = sorted((a for a in found if a.first_seen > since), key=lambda a: a.first_seen)
        return [
            Event(
                f"{a.fingerprint}@{a.first_seen}",
                a.first_seen,
                f"alert {a.fingerprint} ({a.severity}) opened",
            )
            for a in opened[:PAGE]
        ]

    return {"dataset": datasets, "model": models, "alert": alerts}


def _alias_moves(registry: Any, name: str, alias: Any, since: int) -> list[Event]:
    moves = [
        e
        for e in registry.aliases.history(name, alias if isinstance(alias, str) else None)
        if e.time > since and e.version is not None
    ]
    return [
        Event(
            f"{e.alias}@{e.time}:{e.version}",
            e.time,
            f"model {name} alias {e.alias} moved to version {e.version}",
        )
        for e in moves[:PAGE]
    ]
