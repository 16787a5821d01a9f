"""What starts a pipeline besides a person: a cron schedule in a time zone, and triggers — a
new version of a dataset, a registry event (a new model version, an alias moved), a monitor's
alert, a call to the pipeline's webhook. Declared on ``@yard.pipeline``, stored with it, and
fired by ``modelyard server``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.ids import now_ms

MODEL_EVENTS = ("version_created", "alias_moved")


@dataclass(frozen=True)
class Trigger:
    kind: str  # dataset | model | alert | webhook
    target: str | None = None  # a dataset, model or monitor name
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, **self.options}

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.kind}:{self.target or ''}{extra}"


def _name(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise InvalidArgument(
            f"{field_name} must be a name (1-256 characters), got {value!r}", field=field_name
        )
    return value


def on_dataset(name: str) -> Trigger:
    """Run when a new version of dataset ``name`` is logged."""
    return Trigger("dataset", _name(name, "dataset"))


def on_model(name: str, *, event: str = "version_created", alias: str | None = None) -> Trigger:
    """Run when model ``name`` gets a new version (``event="version_created"``) or one of
    its aliases (``alias``, or any) is moved (``event="alias_moved"``)."""
    if event not in MODEL_EVENTS:
        raise InvalidArgument(
            f"event must be one of {', '.join(MODEL_EVENTS)}, got {event!r}", field="event"
        )
    options: dict[str, Any] = {"event": event}
    if alias is not None:
        options["alias"] = _name(alias, "alias")
    return Trigger("model", _name(name, "model"), options)


def on_alert(monitor: str) -> Trigger:
    """Run when monitor ``monitor`` opens an alert."""
    return Trigger("alert", _name(monitor, "monitor"))


def on_webhook() -> Trigger:
    """Run on ``POST /api/v1/pipelines/<name>/trigger`` (a caller who may run it)."""
    return Trigger("webhook")


def check_triggers(triggers: Any) -> list[Trigger]:
    if triggers is None:
        return []
    if not isinstance(triggers, (list, tuple)) or not all(isinstance(t, Trigger) for t in triggers):
        raise InvalidArgument(
            "triggers must be a list of yard.on_dataset(...), yard.on_model(...), "
            "yard.on_alert(...) or yard.on_webhook()",
            field="triggers",
        )
    return list(triggers)


def check_stored_triggers(triggers: Any) -> list[dict[str, Any]]:
    """Triggers as a client sends them (``Trigger.to_dict``), rebuilt through the functions
    that make them, so a stored trigger is one ``@yard.pipeline`` could declare."""
    if not isinstance(triggers, list) or len(triggers) > 100:
        raise InvalidArgument("triggers must be a list (at most 100)", field="triggers")
    out = []
    for i, item in enumerate(triggers):
        where = f"triggers[{i}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"{where} must be an object", field=where)
        kind, target = item.get("kind"), item.get("target")
        name: Any = target  # checked by the function that makes the trigger
        options = {k: v for k, v in item.items() if k not in ("kind", "target")}
        try:
            if kind == "dataset" and not options:
                made = on_dataset(name)
            elif kind == "model" and set(options) <= {"event", "alias"}:
                made = on_model(name, **options)
            elif kind == "alert" and not options:
                made = on_alert(name)
            elif kind == "webhook" and target is None and not options:
                made = on_webhook()
            else:
                raise InvalidArgument(
                    f"{where} must be a dataset, model, alert or webhook trigger as "
                    "yard.on_dataset/on_model/on_alert/on_webhook make it",
                    field=where,
                )
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc.message}", field=where) from None
        out.append(made.to_dict())
    return out


def check_schedule(schedule: Any, timezone: str) -> str | None:
    if schedule is None:
        return None
    _cron().parse(schedule, timezone)
    return str(schedule)


def first_fire(info: Any) -> int | None:
    """When a pipeline saved now fires first (None: no schedule)."""
    if not info.schedule:
        return None
    return int(_cron().parse(info.schedule, info.timezone).next_after(now_ms()))


def _cron() -> Any:
    import importlib

    return importlib.import_module("modelyard.platform.cron").CronSchedule
