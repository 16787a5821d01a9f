"""The monitoring store as a client of a modelyard server (``/api/v1/predictions``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.monitoring.entities import Label, PredictionFile
from modelyard.monitoring.store import MonitoringStore
from modelyard.store.rest import HttpTransport

BASE = "/api/v1/predictions"


class RestMonitoringStore(MonitoringStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def add_prediction_file(self, meta: PredictionFile) -> PredictionFile:
        body = {k: v for k, v in meta.to_dict().items() if k not in ("file_id", "created_time")}
        return PredictionFile.from_dict(self.http.request("POST", f"{BASE}/files", json=body))

    def prediction_files(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> list[PredictionFile]:
        params: dict[str, Any] = {
            k: v
            for k, v in (
                ("model", model),
                ("version", version),
                ("endpoint", endpoint),
                ("since", since),
                ("until", until),
            )
            if v is not None
        }
        got = self.http.request("GET", f"{BASE}/files", params=params)
        return [PredictionFile.from_dict(f) for f in got["files"]]

    def log_labels(self, labels: Sequence[Label]) -> tuple[int, int]:
        body = {"labels": [lb.to_dict() if isinstance(lb, Label) else lb for lb in labels]}
        got = self.http.request("POST", f"{BASE}/labels", json=body)
        return int(got["recorded"]), int(got["replaced"])

    def get_labels(self, request_ids: Sequence[str]) -> list[Label]:
        found: list[Label] = []
        ids = list(request_ids)
        for start in range(0, len(ids), 10_000):
            body = {"request_ids": ids[start : start + 10_000]}
            got = self.http.request("POST", f"{BASE}/labels/lookup", json=body)
            found += [Label(**lb) for lb in got["labels"]]
        return found
