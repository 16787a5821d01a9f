"""The contract of the monitoring store: SQL (embedded, and what the server runs) and REST."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from modelyard.monitoring.entities import Label, PredictionFile
from modelyard.monitoring.monitors.alerting import AlertState
from modelyard.monitoring.monitors.stored import StoredMonitor
from modelyard.platform.search.paging import read_pages

FILES_PAGE_DEFAULT = 1_000  # prediction files in one page, unless asked
FILES_PAGE_MAX = 10_000  # the most one page holds (a file's row is about 300 bytes)
MONITORS_PAGE_DEFAULT = 100  # monitors in one page, unless asked
MONITORS_PAGE_MAX = 1_000  # a monitor carries its whole spec, so pages are smaller
RUNS_MAX = 10_000  # a monitor's runs in one answer (limit, 100 by default)


class MonitoringStore(ABC):
    @abstractmethod
    def add_prediction_file(self, meta: PredictionFile) -> PredictionFile:
        """List a shipped file (its blob stored first); the same sha256 twice is one file."""

    @abstractmethod
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
        """One page (``limit``, 1 to 10,000) of the files holding predictions from ``since``
        to ``until`` (epoch ms), oldest first, and the token of the next page (None: the
        last)."""

    def prediction_files(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int | None = None,
    ) -> list[PredictionFile]:
        """Every such file (or the first ``limit``): the pages followed to the end."""
        return read_pages(
            lambda size, token: self.prediction_files_page(
                model=model,
                version=version,
                endpoint=endpoint,
                since=since,
                until=until,
                limit=size,
                page_token=token,
            ),
            FILES_PAGE_MAX,
            limit,
        )

    @abstractmethod
    def log_labels(self, labels: Sequence[Label], project: str | None = None) -> tuple[int, int]:
        """Record labels (in ``project``: None, the caller's only one, else default); a
        label for a request id and row already labelled in that project replaces it.
        Returns (recorded, of which replaced)."""

    @abstractmethod
    def get_labels(self, request_ids: Sequence[str]) -> list[Label]:
        """The labels of these request ids (every row)."""

    # --- monitors -------------------------------------------------------------------------
    @abstractmethod
    def save_monitor(
        self, spec: dict[str, Any], every_ms: int, enabled: bool, project: str | None = None
    ) -> StoredMonitor:
        """Create or replace the monitor ``spec["name"]`` (its revision goes up); it is due
        at once. A new one goes in ``project`` (None: the caller's only one, else default)."""

    @abstractmethod
    def get_monitor(self, name: str) -> StoredMonitor:
        """The monitor, or NotFound."""

    @abstractmethod
    def list_monitors_page(
        self, *, limit: int = MONITORS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[StoredMonitor], str | None]:
        """One page (``limit``, 1 to 1,000) of the monitors, by name, and the next token."""

    def list_monitors(self, *, limit: int | None = None) -> list[StoredMonitor]:
        """Every monitor (or the first ``limit``), by name: the pages followed to the end."""
        return read_pages(
            lambda size, token: self.list_monitors_page(limit=size, page_token=token),
            MONITORS_PAGE_MAX,
            limit,
        )

    @abstractmethod
    def delete_monitor(self, name: str) -> None:
        """Delete a monitor (its runs and alerts stay, as history)."""

    @abstractmethod
    def claim_monitor(self, name: str, due: int, next_run: int) -> bool:
        """Move ``name``'s next run from ``due`` to ``next_run`` if nobody did yet: True
        for the one caller that runs it."""

    @abstractmethod
    def add_monitor_run(self, run: dict[str, Any]) -> str:
        """Keep a run (``MonitorRun.to_dict()`` plus ``error``); its id."""

    @abstractmethod
    def monitor_runs(
        self, name: str, *, since: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Runs of ``name``, newest window first."""

    @abstractmethod
    def get_alerts(self, fingerprints: Sequence[str]) -> list[AlertState]:
        """The alerts with these fingerprints (those that exist)."""

    @abstractmethod
    def put_alerts(self, alerts: Sequence[AlertState]) -> None:
        """Create or replace alerts by fingerprint."""

    @abstractmethod
    def list_alerts(
        self, *, status: str | None = None, monitor: str | None = None, limit: int = 1000
    ) -> list[AlertState]:
        """Alerts, the most recently seen first (at most ``limit``, 1 to 10,000)."""

    @abstractmethod
    def ack_alert(self, fingerprint: str) -> AlertState:
        """Acknowledge an open alert: it is no longer told until it resolves."""

    def close(self) -> None:  # noqa: B027 - optional
        pass
