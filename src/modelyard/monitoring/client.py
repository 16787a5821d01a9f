"""``MonitoringClient``: predictions shipped by the inference servers, and late labels.

``predictions(model=...)`` reads the Parquet files the servers shipped for a model (or an
endpoint) over a time range, one row per predicted row, with the label joined by request id
and row where one has arrived. ``log_labels`` records labels from Python (a list, a mapping
or a DataFrame); servers take them at ``POST /v2/feedback``. ``performance`` scores the
predictions against those labels, per time window and slice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from modelyard.config import Settings
from modelyard.data.backends import data_backend
from modelyard.errors import InvalidArgument
from modelyard.identity import Actor, acting_as, settings_actor
from modelyard.monitoring.backends import monitoring_store
from modelyard.monitoring.entities import COLUMNS, Label, PredictionFile, is_request_id
from modelyard.monitoring.monitors.alerting import AlertState
from modelyard.monitoring.monitors.evaluate import MonitorRun
from modelyard.monitoring.monitors.notify import run_stored
from modelyard.monitoring.monitors.spec import MonitorSpec
from modelyard.monitoring.monitors.stored import StoredMonitor
from modelyard.monitoring.quality import PerformanceReport, performance, window_ms
from modelyard.monitoring.store import FILES_PAGE_DEFAULT, MONITORS_PAGE_DEFAULT
from modelyard.platform.backends import Backend, resolve
from modelyard.platform.current import chosen_uri
from modelyard.platform.ids import now_ms
from modelyard.platform.times import parse_time

_PIECE = 1 << 20


class MonitoringClient:
    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        backend: Backend | None = None,  # one already open (a server's own), else resolved
        actor: Actor | None = None,  # who this client acts as; default: the settings' user
    ):
        self.settings = settings or Settings.from_env()
        if backend is not None:
            tracking_uri = backend.uri
        self.tracking_uri = tracking_uri if tracking_uri is not None else chosen_uri(self.settings)
        if backend is None:
            backend = resolve(self.tracking_uri, self.settings)
        self.store = monitoring_store(backend)
        self.blobs = data_backend(backend).blobs
        self._actor = actor or settings_actor(self.settings)

    # --- shipping (the inference server) -------------------------------------------------
    def ship_file(self, path: Path, meta: dict[str, Any]) -> PredictionFile:
        """Store a Parquet file of predictions and list it; shipping it again is harmless."""
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(_PIECE), b""):
                digest.update(chunk)
        sha256, size = digest.hexdigest(), path.stat().st_size

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as f:
                yield from iter(lambda: f.read(_PIECE), b"")

        with acting_as(self._actor):
            if self.blobs.missing([sha256]):
                self.blobs.put(sha256, chunks(), size)
            made = PredictionFile(sha256=sha256, size=size, **meta)
            if made.project is None and self.settings.project is not None:
                made = replace(made, project=self.settings.project)
            return self.store.add_prediction_file(made)

    # --- labels --------------------------------------------------------------------------
    def log_labels(self, labels: Any) -> int:
        """Record true labels by request id: ``{request_id: label}``, a list of
        ``{"request_id", "label", "row"?, "time"?}`` (or ``Label``), or a DataFrame (or a
        CSV or Parquet file) with those columns. A label sent again for the same request
        id and row replaces the old one. Returns how many were recorded."""
        items = _label_items(labels)
        total = 0
        with acting_as(self._actor):
            for start in range(0, len(items), 10_000):
                part = items[start : start + 10_000]
                total += self.store.log_labels(part, self.settings.project)[0]
        return total

    def get_labels(self, request_ids: list[str]) -> list[Label]:
        found: list[Label] = []
        with acting_as(self._actor):
            for start in range(0, len(request_ids), 100_000):
                found += self.store.get_labels(request_ids[start : start + 100_000])
        return found

    # --- reading -------------------------------------------------------------------------
    def prediction_files(
        self,
        model: str | None = None,
        *,
        version: str | int | None = None,
        endpoint: str | None = None,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
    ) -> list[PredictionFile]:
        """Every shipped file overlapping the time range (or the first ``limit``), oldest
        first; read a page at a time, as ``prediction_files_page`` does."""
        found = _file_filters(model, version, endpoint, since, until)
        with acting_as(self._actor):
            return self.store.prediction_files(**found, limit=limit)

    def prediction_files_page(
        self,
        model: str | None = None,
        *,
        version: str | int | None = None,
        endpoint: str | None = None,
        since: Any = None,
        until: Any = None,
        limit: int = FILES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[PredictionFile], str | None]:
        """One page of those files (``limit``, up to 10,000) and the token of the next page
        (None after the last); pass the same filters with the token."""
        found = _file_filters(model, version, endpoint, since, until)
        with acting_as(self._actor):
            return self.store.prediction_files_page(**found, limit=limit, page_token=page_token)

    def predictions(
        self,
        model: str | None = None,
        *,
        version: str | int | None = None,
        endpoint: str | None = None,
        since: Any = None,
        until: Any = None,
        labels: bool = True,
        shadows: bool = False,
    ) -> Any:
        """A DataFrame of logged predictions: ``request_id``, ``row``, ``timestamp``,
        ``endpoint``, ``model``, ``version``, ``shadow``, ``latency_ms``, ``prediction``, the
        model's inputs by name, and ``label`` (missing until one arrives) when ``labels``.
        Shadow predictions are left out unless ``shadows``. A prediction whose request id no
        label can name (not 1 to 128 printable ASCII characters: servers refuse such ids now,
        older ones logged them) is read like any other and never has a label."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        if model is None and endpoint is None:
            raise InvalidArgument("name a model or an endpoint", field="model")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        files = self.prediction_files(
            model, version=version, endpoint=endpoint, since=start, until=end
        )
        rows = _row_filter(model, version, endpoint, start, end, shadows)
        tables = [pq.read_table(self._local(f), filters=rows) for f in files]
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return pd.DataFrame(columns=[*COLUMNS, *(["label"] if labels else [])])
        frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        if labels:  # an id no label can name (logged by an older server) joins none
            found = self.get_labels(sorted({r for r in frame["request_id"] if is_request_id(r)}))
            truth = {(lb.request_id, lb.row): lb.label for lb in found}
            keys = zip(frame["request_id"], frame["row"], strict=True)
            frame["label"] = [truth.get(k) for k in keys]
        return frame

    def performance(
        self,
        model: str | None = None,
        *,
        version: str | int | None = None,
        endpoint: str | None = None,
        since: Any = None,
        until: Any = None,
        window: str = "1d",
        by: str | None = None,
        task: str | None = None,
        positive: Any = None,
    ) -> PerformanceReport:
        """Quality of a model's logged predictions against the labels known now, overall
        and per ``window`` ("1h", "1d" ...), optionally per value of the column ``by``
        (see ``monitoring.quality``). Shadow predictions are left out."""
        frame = self.predictions(
            model, version=version, endpoint=endpoint, since=since, until=until
        )
        return performance(frame, window=window, by=by, task=task, positive=positive)

    # --- monitors --------------------------------------------------------------------------
    def save_monitor(
        self, monitor: MonitorSpec, *, every: str | None = None, enabled: bool = True
    ) -> StoredMonitor:
        period = window_ms(every or monitor.every or monitor.window)
        with acting_as(self._actor):
            return self.store.save_monitor(
                monitor.to_dict(), period, enabled and monitor.enabled, self.settings.project
            )

    def monitors(self, *, limit: int | None = None) -> list[StoredMonitor]:
        """Every stored monitor (or the first ``limit``), by name, read a page at a time."""
        with acting_as(self._actor):
            return self.store.list_monitors(limit=limit)

    def monitors_page(
        self, *, limit: int = MONITORS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[StoredMonitor], str | None]:
        """One page of monitors (``limit``, up to 1,000) and the token of the next page."""
        with acting_as(self._actor):
            return self.store.list_monitors_page(limit=limit, page_token=page_token)

    def get_monitor(self, name: str) -> StoredMonitor:
        with acting_as(self._actor):
            return self.store.get_monitor(name)

    def delete_monitor(self, name: str) -> None:
        with acting_as(self._actor):
            self.store.delete_monitor(name)

    def run_monitor(
        self, monitor: MonitorSpec | str, *, now: Any = None, allow_private_webhooks: bool = True
    ) -> MonitorRun:
        """Run a monitor (or a stored one, by name) over the window ending ``now``. A
        server's scheduler passes ``allow_private_webhooks=False`` unless configured."""
        found = self.get_monitor(monitor).monitor if isinstance(monitor, str) else monitor
        at = parse_time(now, "now") if now is not None else now_ms()
        assert at is not None
        with acting_as(self._actor):
            return run_stored(found, self, self.store, at, allow_private=allow_private_webhooks)

    def monitor_runs(
        self, name: str, *, since: Any = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        with acting_as(self._actor):
            return self.store.monitor_runs(name, since=parse_time(since, "since"), limit=limit)

    def alerts(
        self, *, status: str | None = None, monitor: str | None = None, limit: int = 1000
    ) -> list[AlertState]:
        """Alerts, the most recently seen first (at most ``limit``, up to 10,000)."""
        with acting_as(self._actor):
            return self.store.list_alerts(status=status, monitor=monitor, limit=limit)

    def ack_alert(self, fingerprint: str) -> AlertState:
        with acting_as(self._actor):
            return self.store.ack_alert(fingerprint)

    def _local(self, meta: PredictionFile) -> Any:
        import io

        path = self.blobs.local_path(meta.sha256)
        if path is not None:
            return path
        return io.BytesIO(b"".join(self.blobs.read(meta.sha256)))


def _row_filter(
    model: str | None,
    version: Any,
    endpoint: str | None,
    start: int | None,
    end: int | None,
    shadows: bool,
) -> list[tuple[str, str, Any]] | None:
    """The rows wanted, as a Parquet filter: pushed down to each file's row groups, so rows
    outside the window or of other versions are skipped while reading, not after."""
    import datetime as dt

    def stamp(ms: int) -> dt.datetime:  # exact: no float seconds on the way
        return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)

    found: list[tuple[str, str, Any]] = []
    for column, value in (("model", model), ("endpoint", endpoint)):
        if value is not None:
            found.append((column, "=", value))
    if version is not None:
        found.append(("version", "=", str(version)))
    if start is not None:
        found.append(("timestamp", ">=", stamp(start)))
    if end is not None:
        found.append(("timestamp", "<", stamp(end)))
    if not shadows:
        found.append(("shadow", "=", False))
    return found or None


def _file_filters(
    model: str | None, version: str | int | None, endpoint: str | None, since: Any, until: Any
) -> dict[str, Any]:
    """The store's filters for prediction files, from what a user passes."""
    return {
        "model": model,
        "version": None if version is None else str(version),
        "endpoint": endpoint,
        "since": parse_time(since, "since"),
        "until": parse_time(until, "until"),
    }


def _label_items(labels: Any) -> list[Any]:
    if isinstance(labels, str | Path):  # a CSV or Parquet file of labels
        from modelyard.data.frames import tabular_source

        try:
            labels = tabular_source(labels).read().to_pandas()
        except InvalidArgument as exc:
            raise InvalidArgument(exc.message, field="labels") from None
    if isinstance(labels, dict):
        return [{"request_id": k, "label": v} for k, v in labels.items()]
    if hasattr(labels, "to_dict") and hasattr(labels, "columns"):  # a DataFrame
        missing = {"request_id", "label"} - set(labels.columns)
        if missing:
            raise InvalidArgument(
                f"the labels frame lacks column(s) {sorted(missing)}", field="labels"
            )
        # a row whose label is missing (NaN, None) is a truth not known yet, not a label
        rows: list[Any] = labels[labels["label"].notna()].to_dict("records")
        return [_table_row(r) for r in rows]
    if isinstance(labels, (list, tuple)):
        return [_timed(item, i) for i, item in enumerate(labels)]
    raise InvalidArgument(
        "labels must be a mapping of request id to label, a list or a DataFrame", field="labels"
    )


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    """A label table's row as the store takes it: numpy scalars as Python values, ``time``
    as epoch milliseconds from a datetime (zoned or local) or a whole float (an integer
    column with gaps), and a missing ``time`` left out (then: when recorded)."""
    import datetime as dt

    import pandas as pd

    found = {k: _plain(v) for k, v in row.items()}
    when = found.get("time")
    if "time" in found and pd.api.types.is_scalar(when) and pd.isna(when):  # None, NaN, NaT
        del found["time"]
    elif isinstance(when, dt.datetime):
        found["time"] = parse_time(when, "time")
    elif isinstance(when, float) and when.is_integer():
        found["time"] = int(when)
    return found


def _plain(value: Any) -> Any:
    """numpy scalars as Python values (a frame's int64 column gives numpy integers)."""
    return value.item() if hasattr(value, "item") else value


def _timed(item: Any, i: int) -> Any:
    """A label's ``time`` as epoch milliseconds: a datetime (a pandas ``Timestamp``, zoned or
    local time) and ISO-8601 text are taken, as everywhere in the SDK."""
    if not isinstance(item, dict) or item.get("time") is None or isinstance(item["time"], int):
        return item  # an int (a bool too) is checked with the rest, by check_labels
    return {**item, "time": parse_time(item["time"], f"labels[{i}].time")}
