"""Monitors, their runs and their alerts in SQL (a mixin of ``SqlMonitoringStore``).

A due monitor is claimed with one conditional UPDATE (``next_run`` moved from the value
read to the next time): of several servers that read the same due monitor, exactly one
updates the row, and only that one runs it. This needs no lock table and works the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import AlreadyExists, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.monitoring.monitors.alerting import ACKED, OPEN, AlertState
from modelyard.monitoring.monitors.spec import REDACTED, MonitorSpec
from modelyard.monitoring.monitors.stored import StoredMonitor
from modelyard.monitoring.store import MONITORS_PAGE_DEFAULT, MONITORS_PAGE_MAX, RUNS_MAX
from modelyard.monitoring.tables import monitor_alerts, monitor_runs, monitors
from modelyard.platform.access import DEFAULT_PROJECT, sees
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
    require_role_in,
    restricted,
    where_visible,
)
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.store.database import Database

STATUSES = ("open", "acked", "resolved")
MAX_ALERTS = 10_000  # one answer; alerts are one per fingerprint, so this is a lot of them
MONITOR_ROLE = "deployer"  # who may change monitors and alerts (or an admin), as deployments


def _may(action: str, project: str) -> str:
    """Who acts, once they hold the deployer role (or admin) in the monitor's project."""
    return require_role_in(MONITOR_ROLE, project, action, or_admin=True).name


def _project(conn: Connection, name: str, action: str) -> str:
    """The monitor's project, once the caller may ``action`` there (NotFound when the
    monitor is missing or its project hidden)."""
    found = conn.execute(sa.select(monitors.c.project).where(monitors.c.name == name)).scalar()
    missing = NotFound(f"no monitor {name!r}", field="name")
    if found is None:
        if not restricted():  # the embedded store keeps the runs and alerts of any name
            return DEFAULT_PROJECT
        raise missing
    require_in(action, found, missing)
    return str(found)


def _alert_projects(conn: Connection, fingerprints: Sequence[str]) -> dict[str, str]:
    """The project of each alert (through its monitor); alerts of a missing monitor, none."""
    rows = conn.execute(
        sa.select(monitor_alerts.c.fingerprint, monitors.c.project)
        .join(monitors, monitors.c.name == monitor_alerts.c.monitor)
        .where(monitor_alerts.c.fingerprint.in_(list(fingerprints)))
    ).all()
    return {str(f): str(p) for f, p in rows}


def check_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run as a client sends it: the fields it must have, of the kinds they must be."""
    if not isinstance(run, dict):
        raise InvalidArgument("a run must be an object", field="run")
    for key in ("window_start", "window_end", "rows", "labeled"):
        value = run.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise InvalidArgument(f"{key} must be a whole number from 0", field=key)
    if run.get("status") not in ("breached", "passed", "skipped", "error"):
        raise InvalidArgument("status must be breached, passed, skipped or error", field="status")
    if not isinstance(run.get("results", []), list):
        raise InvalidArgument("results must be a list", field="results")
    if run.get("error") is not None and not isinstance(run["error"], str):
        raise InvalidArgument("error must be text", field="error")
    if not isinstance(run.get("monitor"), str):
        raise InvalidArgument("monitor must be a name", field="monitor")
    return run


def _stored(row: Any) -> StoredMonitor:
    return StoredMonitor(
        name=row["name"],
        spec=orjson.loads(row["spec"]),
        enabled=bool(row["enabled"]),
        every_ms=int(row["every_ms"]),
        next_run=int(row["next_run"]),
        revision=int(row["revision"]),
        created_time=int(row["created_time"]),
        updated_time=int(row["updated_time"]),
        project=row["project"],
    )


def _alert(row: Any) -> AlertState:
    return AlertState(
        fingerprint=row["fingerprint"],
        monitor=row["monitor"],
        check=row["check_name"],
        severity=row["severity"],
        status=row["status"],
        first_seen=int(row["first_seen"]),
        last_seen=int(row["last_seen"]),
        last_notified=int(row["last_notified"]),
        count=int(row["count"]),
        message=row["message"],
        value=None if row["value"] is None else orjson.loads(row["value"]),
        acked_by=row["acked_by"],
        acked_time=None if row["acked_time"] is None else int(row["acked_time"]),
    )


def _alert_row(state: AlertState) -> dict[str, Any]:
    return {
        "fingerprint": state.fingerprint,
        "monitor": state.monitor,
        "check_name": state.check,
        "severity": state.severity,
        "status": state.status,
        "first_seen": state.first_seen,
        "last_seen": state.last_seen,
        "last_notified": state.last_notified,
        "count": state.count,
        "message": state.message[:4000],
        "value": None if state.value is None else orjson.dumps(state.value).decode(),
        "acked_by": state.acked_by,
        "acked_time": state.acked_time,
    }


class SqlMonitors:
    db: Database

    def save_monitor(
        self, spec: dict[str, Any], every_ms: int, enabled: bool, project: str | None = None
    ) -> StoredMonitor:
        monitor = MonitorSpec.from_dict(spec)  # checked as a whole before anything is written
        if isinstance(every_ms, bool) or not isinstance(every_ms, int) or every_ms < 1_000:
            raise InvalidArgument("a monitor runs at most once a second", field="every")
        t = now_ms()
        name = monitor.name

        def write(conn: Connection) -> None:
            c = monitors.c
            known = conn.execute(
                sa.select(c.revision, c.spec, c.enabled, c.every_ms, c.project).where(
                    c.name == name
                )
            ).first()
            if known is not None and not sees(current_actor(), known.project):
                raise AlreadyExists(f"the monitor name {name!r} is taken", field="name")
            if known is None:
                where = new_object_project(project, "monitor.write")
                check_project_exists(conn, where)
            else:
                where = str(known.project)
            actor = _may("saving a monitor", where)
            stored = orjson.loads(known.spec) if known is not None else None
            text = orjson.dumps(kept_secrets(monitor.to_dict(), stored)).decode()
            if known is not None and (known.spec, bool(known.enabled), known.every_ms) == (
                text,
                enabled,
                every_ms,
            ):
                return  # the same monitor saved again: no new revision, its schedule kept
            values = {"spec": text, "enabled": enabled, "every_ms": every_ms, "next_run": t}
            if known is None:
                conn.execute(
                    monitors.insert().values(
                        name=name, project=where, revision=1, created_by=actor, created_time=t,
                        updated_time=t, **values,
                    )
                )  # fmt: skip
            else:
                conn.execute(
                    monitors.update()
                    .where(monitors.c.name == name)
                    .values(revision=int(known[0]) + 1, updated_time=t, **values)
                )

        self.db.run_write(write)
        return self.get_monitor(name)

    def get_monitor(self, name: str) -> StoredMonitor:
        with self.db.read() as conn:
            row = (
                conn.execute(sa.select(monitors).where(monitors.c.name == name)).mappings().first()
            )
        missing = NotFound(f"no monitor {name!r}", field="name")
        if row is None:
            raise missing
        require_in("monitor.read", row["project"], missing)
        return _stored(row)

    def list_monitors_page(
        self, *, limit: int = MONITORS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[StoredMonitor], str | None]:
        check_count(limit, "limit", MONITORS_PAGE_MAX)
        fingerprint = list_fingerprint("monitors")
        offset = page_offset(page_token, fingerprint, "request")
        query = where_visible(sa.select(monitors), monitors.c.project)
        query = query.order_by(monitors.c.name).limit(limit + 1).offset(offset)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        return [_stored(r) for r in rows[:limit]], token

    def delete_monitor(self, name: str) -> None:
        def write(conn: Connection) -> int:
            _may("deleting a monitor", _project(conn, name, "monitor.read"))
            return int(conn.execute(monitors.delete().where(monitors.c.name == name)).rowcount)

        if not self.db.run_write(write):
            raise NotFound(f"no monitor {name!r}", field="name")

    def claim_monitor(self, name: str, due: int, next_run: int) -> bool:
        def write(conn: Connection) -> int:
            _may("claiming a monitor's run", _project(conn, name, "monitor.read"))
            found = conn.execute(
                monitors.update()
                .where(monitors.c.name == name, monitors.c.next_run == due, monitors.c.enabled)
                .values(next_run=next_run)
            )
            return int(found.rowcount)

        return bool(self.db.run_write(write))

    def add_monitor_run(self, run: dict[str, Any]) -> str:
        run = check_run(run)
        with self.db.read() as conn:
            actor = _may(
                "recording a monitor's run", _project(conn, run["monitor"], "monitor.read")
            )
        run_id = uuid.uuid4().hex
        row = {
            "run_id": run_id,
            "monitor": run["monitor"],
            "window_start": int(run["window_start"]),
            "window_end": int(run["window_end"]),
            "status": run["status"],
            "rows": int(run.get("rows", 0)),
            "labeled": int(run.get("labeled", 0)),
            "results": orjson.dumps(run.get("results", []), default=str).decode(),
            "error": run.get("error"),
            "run_by": actor,
            "created_time": now_ms(),
        }
        self.db.run_write(lambda conn: conn.execute(monitor_runs.insert().values(**row)))
        return run_id

    def monitor_runs(
        self, name: str, *, since: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        check_count(limit, "limit", RUNS_MAX)
        with self.db.read() as conn:
            _project(conn, name, "monitor.read")
        t = monitor_runs.c
        query = sa.select(monitor_runs).where(t.monitor == name)
        if since is not None:
            query = query.where(t.window_end > since)
        query = query.order_by(t.window_end.desc(), t.created_time.desc()).limit(limit)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                **{k: r[k] for k in ("run_id", "monitor", "status", "error", "run_by")},
                **{k: int(r[k]) for k in ("window_start", "window_end", "rows", "labeled")},
                "created_time": int(r["created_time"]),
                "results": orjson.loads(r["results"]),
            }
            for r in rows
        ]

    def get_alerts(self, fingerprints: Sequence[str]) -> list[AlertState]:
        keys = list(fingerprints)
        if not keys:
            return []
        query = sa.select(monitor_alerts).join(
            monitors, monitors.c.name == monitor_alerts.c.monitor, isouter=not restricted()
        )
        query = where_visible(
            query.where(monitor_alerts.c.fingerprint.in_(keys)), monitors.c.project
        )
        with self.db.read() as conn:
            return [_alert(r) for r in conn.execute(query).mappings()]

    def put_alerts(self, alerts: Sequence[AlertState]) -> None:
        """Write alert states. An acknowledgement made meanwhile (while the run delivered
        its notices) is kept: an alert acked in the store never goes back to open."""
        rows = [_alert_row(a) for a in alerts]
        if not rows:
            return
        c = monitor_alerts.c

        def write(conn: Connection) -> None:
            for name in sorted({row["monitor"] for row in rows}):
                _may("writing alerts", _project(conn, name, "monitor.read"))
            for row in rows:
                known = conn.execute(
                    sa.select(c.status, c.acked_by, c.acked_time).where(
                        c.fingerprint == row["fingerprint"]
                    )
                ).first()
                if known is None:
                    conn.execute(monitor_alerts.insert().values(**row))
                    continue
                if known[0] == ACKED and row["status"] == OPEN:
                    row = {**row, "status": ACKED, "acked_by": known[1], "acked_time": known[2]}
                conn.execute(
                    monitor_alerts.update().where(c.fingerprint == row["fingerprint"]).values(**row)
                )

        self.db.run_write(write)

    def list_alerts(
        self, *, status: str | None = None, monitor: str | None = None, limit: int = 1000
    ) -> list[AlertState]:
        check_count(limit, "limit", MAX_ALERTS)
        if status is not None and status not in STATUSES:
            raise InvalidArgument(f"status must be one of {list(STATUSES)}", field="status")
        c = monitor_alerts.c
        query = sa.select(monitor_alerts).join(
            monitors, monitors.c.name == c.monitor, isouter=not restricted()
        )
        query = where_visible(query, monitors.c.project)
        if status is not None:
            query = query.where(c.status == status)
        if monitor is not None:
            query = query.where(c.monitor == monitor)
        with self.db.read() as conn:
            ordered = query.order_by(c.last_seen.desc(), c.fingerprint).limit(limit)
            rows = conn.execute(ordered).mappings()
            return [_alert(r) for r in rows]

    def ack_alert(self, fingerprint: str) -> AlertState:
        t = now_ms()
        c = monitor_alerts.c

        def write(conn: Connection) -> int:
            project = _alert_projects(conn, [fingerprint]).get(fingerprint)
            missing = NotFound(f"no alert {fingerprint!r}", field="fingerprint")
            if project is None and restricted():
                raise missing
            if project is not None:
                require_in("alert.ack", project, missing)
            actor = _may("acknowledging an alert", project or DEFAULT_PROJECT)
            done = conn.execute(
                monitor_alerts.update()
                .where(c.fingerprint == fingerprint, c.status.in_([OPEN, ACKED]))
                .values(status=ACKED, acked_by=actor, acked_time=t)
            )
            return int(done.rowcount)

        if not self.db.run_write(write):
            found = self.get_alerts([fingerprint])
            if not found:
                raise NotFound(f"no alert {fingerprint!r}", field="fingerprint")
            raise InvalidArgument(f"alert {fingerprint!r} is resolved: nothing to acknowledge",
                                  field="fingerprint")  # fmt: skip
        return self.get_alerts([fingerprint])[0]


def kept_secrets(spec: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``spec`` with each webhook secret that came back redacted (a monitor read from a
    server and saved again) replaced by the secret stored for the same URL; a redacted secret
    with nothing stored to keep is refused, never stored as the placeholder."""
    before = {
        channel.get("url"): channel.get("secret")
        for channel in (stored or {}).get("alerts", [])
        if channel.get("secret")
    }
    for i, channel in enumerate(spec.get("alerts", [])):
        if channel.get("secret") != REDACTED:
            continue
        secret = before.get(channel.get("url"))
        if secret is None:
            raise InvalidArgument(
                f"alerts[{i}].secret is the placeholder a server shows ({REDACTED}) and no "
                f"secret is stored for {channel.get('url')!r}: give the secret itself",
                field=f"alerts[{i}].secret",
            )
        channel["secret"] = secret
    return spec
