"""What a monitor is: its data (an endpoint or a model version, a window, a reference), its
checks and where its alerts go. Plain dataclasses that round-trip through dicts, so a
monitor can be written in Python or YAML and stored as JSON. Nothing here reads a store or
builds a client: the client acts on a spec, never the other way round.

    Monitor(
        name="churn-drift", endpoint="churn-api", reference="dataset:churn-train@3",
        window="1h", checks=[DriftCheck(share_drifted_gt=0.3), PerformanceCheck("auc", lt=0.85)],
        alerts=[Webhook("https://hooks.example/...", secret="..."), Email("oncall@example.com")],
    )
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from modelyard.errors import InvalidArgument
from modelyard.monitoring.quality import window_offset

SEVERITIES = ("info", "warning", "critical")
METRIC_NAMES = {
    "auc": "roc_auc",
    "roc_auc": "roc_auc",
    "logloss": "log_loss",
    "ece": "calibration_error",
}


REDACTED = "********"  # a webhook secret as the server shows it


def _number(value: Any, field_name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidArgument(f"{field_name} must be a number", field=field_name)


def _check_name(value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= 160 or set(value) & {":", "/"}:
        raise InvalidArgument("a check name is 1 to 160 characters, no : or /", field="name")


def _severity(value: str, field_name: str) -> str:
    if value not in SEVERITIES:
        raise InvalidArgument(f"severity must be one of {list(SEVERITIES)}", field=field_name)
    return value


@dataclass(frozen=True)
class DriftCheck:
    """Breached when the share of drifted columns is above ``share_drifted_gt`` (or, without
    it, when the dataset drifts by the report's own ``drift_share``)."""

    share_drifted_gt: float | None = None
    columns: list[str] | None = None
    tests: dict[str, str] | None = None
    severity: str = "warning"
    name: str = "drift"

    def __post_init__(self) -> None:
        _number(self.share_drifted_gt, "share_drifted_gt")
        _check_name(self.name)
        if self.columns is not None and not (
            isinstance(self.columns, list) and all(isinstance(c, str) for c in self.columns)
        ):
            raise InvalidArgument("columns must be a list of names", field="columns")
        if self.tests is not None and not isinstance(self.tests, dict):
            raise InvalidArgument("tests must map columns to test names", field="tests")
        if self.share_drifted_gt is not None and not 0 <= self.share_drifted_gt < 1:
            raise InvalidArgument(
                "share_drifted_gt must be from 0 to below 1", field="share_drifted_gt"
            )
        _severity(self.severity, "severity")


@dataclass(frozen=True)
class PerformanceCheck:
    """Breached when ``metric`` (accuracy, f1, auc, log_loss, mae, rmse ...) is below ``lt``
    or above ``gt``; skipped while fewer than ``min_labeled`` rows of the window have labels.
    With ``delay`` ("1d"), it scores the window that ended that long ago, so labels that
    take a day to arrive are there."""

    metric: str
    lt: float | None = None
    gt: float | None = None
    min_labeled: int = 1
    severity: str = "critical"
    name: str = ""
    delay: str | None = None  # score the window that ended this long ago (labels are late)

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidArgument("metric must be a metric's name", field="metric")
        _number(self.lt, "lt")
        _number(self.gt, "gt")
        if isinstance(self.min_labeled, bool) or not isinstance(self.min_labeled, int):
            raise InvalidArgument("min_labeled must be a whole number", field="min_labeled")
        if self.lt is None and self.gt is None:
            raise InvalidArgument(f"give lt= or gt= for {self.metric!r}", field="lt")
        if self.min_labeled < 1:
            raise InvalidArgument("min_labeled must be at least 1", field="min_labeled")
        _severity(self.severity, "severity")
        if not self.name:
            object.__setattr__(self, "name", f"performance.{self.metric}")
        _check_name(self.name)
        if self.delay is not None:
            if not isinstance(self.delay, str):
                raise InvalidArgument("delay must be text such as 1d", field="delay")
            window_offset(self.delay)

    @property
    def key(self) -> str:
        """The metric's name in a performance report."""
        return METRIC_NAMES.get(self.metric, self.metric)


@dataclass(frozen=True)
class Webhook:
    """POST a Slack-compatible JSON body (``text`` plus the details); with ``secret``, signed:
    ``X-Modelyard-Signature: sha256=<hex HMAC of timestamp + "." + body>`` and
    ``X-Modelyard-Timestamp``."""

    url: str
    secret: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise InvalidArgument("a webhook url must start with http:// or https://", field="url")
        if self.secret is not None and not isinstance(self.secret, str):
            raise InvalidArgument("secret must be text", field="secret")
        _number(self.timeout_s, "timeout_s")
        if not 0 < self.timeout_s <= 60:
            raise InvalidArgument("timeout_s must be above 0 and at most 60", field="timeout_s")


@dataclass(frozen=True)
class Email:
    """Mail through an SMTP server (``MODELYARD_SMTP_HOST`` / ``_PORT`` unless given)."""

    to: str | list[str]
    sender: str = "modelyard@localhost"
    host: str | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        self.recipients  # noqa: B018 - checks the addresses
        if not isinstance(self.sender, str) or "@" not in self.sender:
            raise InvalidArgument("sender must be an email address", field="sender")
        if self.host is not None and not isinstance(self.host, str):
            raise InvalidArgument("host must be text", field="host")
        if self.port is not None and (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not 0 < self.port < 65536
        ):
            raise InvalidArgument("port must be from 1 to 65535", field="port")

    @property
    def recipients(self) -> list[str]:
        found = [self.to] if isinstance(self.to, str) else self.to
        if not isinstance(found, list) or not found:
            raise InvalidArgument("to must be an address or a list of them", field="to")
        for address in found:
            if (
                not isinstance(address, str)
                or "@" not in address
                or set(address) & {"\r", "\n", ","}
            ):
                raise InvalidArgument(f"{address!r} is not an email address", field="to")
        return list(found)


@dataclass(frozen=True)
class Log:
    """Write the alert to modelyard's log (always on; listed to make it explicit)."""

    level: str = "warning"


Check = DriftCheck | PerformanceCheck
Channel = Webhook | Email | Log
_CHECKS = {"drift": DriftCheck, "performance": PerformanceCheck}
_CHANNELS = {"webhook": Webhook, "email": Email, "log": Log}
_Spec = TypeVar("_Spec", bound="MonitorSpec")  # from_dict and from_yaml build the class asked


@dataclass(frozen=True)
class MonitorSpec:
    """A monitor as data: checked on creation, to and from a dict or YAML. The client acts
    on it (``MonitoringClient.save_monitor`` / ``run_monitor``); ``monitoring.monitor.Monitor``
    adds ``save()`` and ``run()`` for the store a URI names."""

    name: str
    endpoint: str | None = None  # a deployment's (or served model's) endpoint name
    model: str | None = None
    version: str | None = None
    reference: Any = None  # for drift: "dataset:NAME@V", a file, or a DataFrame (not stored)
    window: str = "1h"
    checks: list[Check] = field(default_factory=list)
    alerts: list[Channel] = field(default_factory=list)
    cooldown: str = "1h"  # an open alert is notified again at most this often
    every: str | None = None  # how often the server runs it; default: the window
    enabled: bool = True
    deployment: str | None = None  # a deployment's name: its endpoint has the same name

    def __eq__(self, other: object) -> bool:
        """Equal by value to any monitor spec, ``Monitor`` included: a monitor read back from
        the store equals the one saved."""
        if not isinstance(other, MonitorSpec):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(MonitorSpec))

    __hash__ = None  # type: ignore[assignment]  # its checks and channels are lists

    def __post_init__(self) -> None:
        if self.deployment is not None:
            if self.endpoint not in (None, self.deployment):
                raise InvalidArgument(
                    "a deployment's endpoint has its name; give one of them", field="deployment"
                )
            object.__setattr__(self, "endpoint", self.deployment)
        if not self.name or len(self.name) > 128 or "/" in self.name:
            raise InvalidArgument(
                "a monitor needs a name of 1 to 128 characters, no /", field="name"
            )
        if self.endpoint is None and self.model is None:
            raise InvalidArgument("name an endpoint or a model", field="endpoint")
        window_offset(self.window)
        window_offset(self.cooldown)
        if self.every is not None:
            window_offset(self.every)
        if not self.checks:
            raise InvalidArgument("a monitor needs at least one check", field="checks")
        names = [c.name for c in self.checks]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"check names repeat: {names}", field="checks")
        if any(isinstance(c, DriftCheck) for c in self.checks) and self.reference is None:
            raise InvalidArgument("a drift check needs a reference", field="reference")
        if self.version is not None:
            object.__setattr__(self, "version", str(self.version))

    def to_dict(self) -> dict[str, Any]:
        if self.reference is not None and not isinstance(self.reference, str):
            raise InvalidArgument(
                "a stored monitor's reference must be text (dataset:NAME@V or a path)",
                field="reference",
            )
        found = asdict(self)
        found["checks"] = [{"type": _type(c, _CHECKS), **asdict(c)} for c in self.checks]
        found["alerts"] = [{"type": _type(c, _CHANNELS), **asdict(c)} for c in self.alerts]
        return found

    def check_for_server(self) -> None:
        """What a monitor stored through a server may not hold, because the server's
        scheduler would act on it: a reference that is a path on the server's disk (only
        ``dataset:NAME@V``), and an SMTP host or port (the server's own come from
        ``MODELYARD_SMTP_HOST`` / ``_PORT``)."""
        if self.reference is not None and not (
            isinstance(self.reference, str) and self.reference.startswith("dataset:")
        ):
            raise InvalidArgument(
                "a monitor stored on a server takes its reference as dataset:NAME@VERSION",
                field="reference",
            )
        if any(isinstance(c, Email) and (c.host or c.port) for c in self.alerts):
            raise InvalidArgument(
                "a monitor stored on a server mails through the server's SMTP settings; "
                "leave host and port out",
                field="alerts",
            )

    @classmethod
    def from_dict(cls: type[_Spec], data: dict[str, Any]) -> _Spec:
        data = dict(data)
        try:
            checks = [_build(c, _CHECKS, "checks") for c in data.pop("checks", [])]
            alerts = [_build(c, _CHANNELS, "alerts") for c in data.pop("alerts", [])]
            return cls(**data, checks=checks, alerts=alerts)
        except TypeError as exc:  # an unknown or missing field
            raise InvalidArgument(f"monitor: {exc}", field="monitor") from None

    @classmethod
    def from_yaml(cls: type[_Spec], path: str | Path) -> _Spec:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidArgument(f"cannot read {path}: {exc}", field="path") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"{path} must hold a mapping", field="path")
        return cls.from_dict(data)


def _type(item: Any, kinds: dict[str, type]) -> str:
    return next(name for name, kind in kinds.items() if isinstance(item, kind))


def _build(item: Any, kinds: dict[str, type], field_name: str) -> Any:
    if not isinstance(item, dict) or item.get("type") not in kinds:
        raise InvalidArgument(
            f"each of {field_name} needs a type: one of {list(kinds)}", field=field_name
        )
    values = {k: v for k, v in item.items() if k != "type"}
    return kinds[item["type"]](**values)
