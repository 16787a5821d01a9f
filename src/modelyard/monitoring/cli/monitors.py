"""``modelyard monitors save|list|run|history|delete`` and ``modelyard alerts list|ack``.

``run`` takes a stored monitor's name or a YAML file, runs its checks by hand (or from
cron), tells its alert channels (de-duplicated by the alert state in the store) and keeps
the run in the monitor's history; ``--fail-on-breach`` exits 1 when a check is breached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modelyard.registry.cli.common import when
from modelyard.terminal import err, out, print_json, print_table
from modelyard.tracking.cli.common import Json, TrackingUri, first

app = typer.Typer(
    help="Monitors: checks over logged predictions, and alerts.", no_args_is_help=True
)


alerts_app = typer.Typer(help="Alerts raised by monitors.", no_args_is_help=True)


def _client(uri: str | None) -> Any:
    from modelyard.monitoring.client import MonitoringClient

    return MonitoringClient(uri)


@app.command()
def save(
    spec: Annotated[Path, typer.Argument(help="The monitor, as YAML.")],
    every: Annotated[
        str | None, typer.Option(help="How often the server runs it (default: its window).")
    ] = None,
    disabled: Annotated[bool, typer.Option(help="Store it without running it.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Store (or replace) the monitor in SPEC; `modelyard server` runs it on schedule."""
    from modelyard.monitoring.monitors.spec import Monitor

    stored = _client(tracking_uri).save_monitor(
        Monitor.from_yaml(spec), every=every, enabled=not disabled
    )
    if as_json:
        print_json(stored.to_dict())
    else:
        out.print(
            f"monitor {stored.name} revision {stored.revision}, every {stored.every_ms / 1000:g} s"
        )


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="At most this many, by name.")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Stored monitors."""
    found = first(lambda n: _client(tracking_uri).monitors(limit=n), limit, "monitors")
    if as_json:
        print_json([m.to_dict() for m in found])
        return
    print_table(
        "Monitors",
        ["name", "data", "checks", "every s", "enabled", "next run (UTC)", "revision"],
        [
            [
                m.name,
                m.spec.get("endpoint") or f"{m.spec.get('model')} {m.spec.get('version') or ''}",
                ", ".join(c.get("name") or c["type"] for c in m.spec["checks"]),
                f"{m.every_ms / 1000:g}",
                "yes" if m.enabled else "no",
                when(m.next_run),
                m.revision,
            ]
            for m in found
        ],
    )


@app.command()
def history(
    name: str,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
    html: Annotated[
        Path | None, typer.Option(help="Write each check's value over time as HTML here.")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """A monitor's runs, newest window first."""
    found = _client(tracking_uri).monitor_runs(name, limit=limit)
    if html is not None:
        from modelyard.monitoring.report_series import history_html

        html.write_text(history_html(name, found), encoding="utf-8")
        err.print(f"wrote {html}")
    if as_json:
        print_json(found)
        return
    print_table(
        f"Runs of {name}",
        ["window end (UTC)", "status", "rows", "labelled", "results"],
        [
            [
                when(r["window_end"]),
                r["status"],
                r["rows"],
                r["labeled"],
                r["error"] or "; ".join(f"{x['check']} {x['outcome']}" for x in r["results"]),
            ]
            for r in found
        ],
    )


@app.command()
def delete(name: str, tracking_uri: TrackingUri = None) -> None:
    """Delete a stored monitor (its runs and alerts stay as history)."""
    _client(tracking_uri).delete_monitor(name)
    out.print(f"deleted monitor {name}")


@alerts_app.command("list")
def list_alerts(
    status: Annotated[str | None, typer.Option(help="open, acked or resolved.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (up to 10000).")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Alerts, the most recently seen first."""
    found = _client(tracking_uri).alerts(status=status, monitor=monitor, limit=limit)
    if as_json:
        print_json([a.to_dict() for a in found])
        return
    print_table(
        "Alerts",
        ["fingerprint", "severity", "status", "count", "last seen (UTC)", "message"],
        [
            [a.fingerprint, a.severity, a.status, a.count, when(a.last_seen), a.message]
            for a in found
        ],
    )


@alerts_app.command()
def ack(fingerprint: str, tracking_uri: TrackingUri = None) -> None:
    """Acknowledge an open alert: it is not told again until it resolves."""
    found = _client(tracking_uri).ack_alert(fingerprint)
    out.print(f"alert {found.fingerprint} acknowledged by {found.acked_by}")


@app.command()
def run(
    spec: Annotated[str, typer.Argument(help="A stored monitor's name, or a YAML file.")],
    now: Annotated[
        str | None, typer.Option(help="End of the window (ISO time or epoch ms; default: now).")
    ] = None,
    fail_on_breach: Annotated[bool, typer.Option(help="Exit 1 when a check is breached.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Run a monitor's checks over its window, alert, and keep the run."""
    from modelyard.monitoring.monitors.spec import Monitor
    from modelyard.registry.client import _parse_time

    client = _client(tracking_uri)
    path = Path(spec)
    monitor = (
        Monitor.from_yaml(path)
        if path.suffix in (".yaml", ".yml")
        else client.get_monitor(spec).monitor
    )
    at = int(now) if now is not None and now.isdigit() else _parse_time(now, "now")
    found = client.run_monitor(monitor, now=at)
    if as_json:
        print_json(found.to_dict())
    else:
        print_table(
            f"monitor {monitor.name}: {found.status} ({found.rows:,} predictions, "
            f"{found.labeled:,} labelled)",
            ["check", "outcome", "value", "alert when", "message"],
            [
                [
                    r.check,
                    r.outcome,
                    "" if r.value is None else f"{r.value:.4g}",
                    r.threshold,
                    r.message,
                ]
                for r in found.results
            ],
        )
        for notice in found.notices:
            failed = f" (not delivered: {'; '.join(notice.errors)})" if notice.errors else ""
            out.print(f"alert {notice.alert.fingerprint}: {notice.event}{failed}")
    if fail_on_breach and found.status == "breached":
        raise typer.Exit(1)
