"""The monitoring store as a client of a modelyard server (``/api/v1/predictions``,
``/api/v1/monitors``, ``/api/v1/alerts``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.monitoring.entities import Label, PredictionFile
from modelyard.monitoring.monitors.alerting import AlertState
from modelyard.monitoring.monitors.stored import StoredMonitor
from modelyard.monitoring.store import (
    FILES_PAGE_DEFAULT,
    MONITORS_PAGE_DEFAULT,
    MonitoringStore,
)
from modelyard.store.rest import HttpTransport

BASE = "/api/v1/predictions"
MONITORS = "/api/v1/monitors"
ALERTS = "/api/v1/alerts"


class RestMonitoringStore(MonitoringStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def add_prediction_file(self, meta: PredictionFile) -> PredictionFile:
        body = {k: v for k, v in meta.to_dict().items() if k not in ("file_id", "created_time")}
        return PredictionFile.from_dict(self.http.request("POST", f"{BASE}/files", json=body))

    def prediction_files_page(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = FILES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[PredictionFile], str | None]:
        params: dict[str, Any] = {
            k: v
            for k, v in (
                ("model", model),
                ("version", version),
                ("endpoint", endpoint),
                ("since", since),
                ("until", until),
                ("limit", limit),
                ("page_token", page_token),
            )
            if v is not None
        }
        got = self.http.request("GET", f"{BASE}/files", params=params)
        return [PredictionFile.from_dict(f) for f in got["files"]], got["next_page_token"]

    def log_labels(self, labels: Sequence[Label], project: str | None = None) -> tuple[int, int]:
        body = {
            "labels": [lb.to_dict() if isinstance(lb, Label) else lb for lb in labels],
            "project": project,
        }
        got = self.http.request("POST", f"{BASE}/labels", json=body)
        return int(got["recorded"]), int(got["replaced"])

    def get_labels(self, request_ids: Sequence[str]) -> list[Label]:
        found: list[Label] = []
        ids = list(request_ids)
        for start in range(0, len(ids), 10_000):
            body = {"request_ids": ids[start : start + 10_000]}
            # a read
            got = self.http.request("POST", f"{BASE}/labels/lookup", json=body, idempotent=True)
            found += [Label(**lb) for lb in got["labels"]]
        return found

    # --- monitors -------------------------------------------------------------------------
    def save_monitor(
        self, spec: dict[str, Any], every_ms: int, enabled: bool, project: str | None = None
    ) -> StoredMonitor:
        body = {"spec": spec, "every_ms": every_ms, "enabled": enabled, "project": project}
        return StoredMonitor.from_dict(
            self.http.request("PUT", f"{MONITORS}/{_path(spec.get('name'))}", json=body)
        )

    def get_monitor(self, name: str) -> StoredMonitor:
        return StoredMonitor.from_dict(self.http.request("GET", f"{MONITORS}/{_path(name)}"))

    def list_monitors_page(
        self, *, limit: int = MONITORS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[StoredMonitor], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if page_token is not None:
            params["page_token"] = page_token
        got = self.http.request("GET", MONITORS, params=params)
        return [StoredMonitor.from_dict(m) for m in got["monitors"]], got["next_page_token"]

    def delete_monitor(self, name: str) -> None:
        self.http.request("DELETE", f"{MONITORS}/{_path(name)}")

    def claim_monitor(self, name: str, due: int, next_run: int) -> bool:
        body = {"due": due, "next_run": next_run}
        got = self.http.request("POST", f"{MONITORS}/{_path(name)}/claim", json=body)
        return bool(got["claimed"])

    def add_monitor_run(self, run: dict[str, Any]) -> str:
        path = f"{MONITORS}/{_path(run.get('monitor'))}/runs"
        return str(self.http.request("POST", path, json=run)["run_id"])

    def monitor_runs(
        self, name: str, *, since: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        got = self.http.request("GET", f"{MONITORS}/{_path(name)}/runs", params=params)
        return list(got["runs"])

    def get_alerts(self, fingerprints: Sequence[str]) -> list[AlertState]:
        got = self.http.request(
            "POST",
            f"{ALERTS}/lookup",
            json={"fingerprints": list(fingerprints)},
            idempotent=True,  # a read
        )
        return [AlertState.from_dict(a) for a in got["alerts"]]

    def put_alerts(self, alerts: Sequence[AlertState]) -> None:
        self.http.request("PUT", ALERTS, json={"alerts": [a.to_dict() for a in alerts]})

    def list_alerts(
        self, *, status: str | None = None, monitor: str | None = None, limit: int = 1000
    ) -> list[AlertState]:
        params: dict[str, Any] = {"limit": limit}
        params.update({k: v for k, v in (("status", status), ("monitor", monitor)) if v})
        got = self.http.request("GET", ALERTS, params=params)
        return [AlertState.from_dict(a) for a in got["alerts"]]

    def ack_alert(self, fingerprint: str) -> AlertState:
        got = self.http.request("POST", f"{ALERTS}/{_path(fingerprint)}/ack")
        return AlertState.from_dict(got)


def _path(part: Any) -> str:
    """One path segment (names never hold "/"; anything else is quoted)."""
    from urllib.parse import quote

    if not isinstance(part, str) or not part:
        raise InvalidArgument("a monitor needs a name", field="name")
    return quote(part, safe="")
