"""``modelyard server``'s background loops (the webhook dispatcher, every second; the monitor
scheduler) while their store is away: one WARNING naming the store without its credentials,
a reminder every 5 minutes, one INFO when it answers again, and no traceback; a bug still
gets one. The store really fails (a SQLite folder moved away, a PostgreSQL address that
refuses); only the clock the lines are timed by is a test's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.scheduler import MonitorScheduler
from modelyard.platform.backends import resolve
from modelyard.registry.webhooks import Dispatcher
from modelyard.store.database import Database

LOGGERS = ("modelyard.registry.webhooks", "modelyard.monitoring")


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name in LOGGERS]


def _outage(step: Callable[[], object], now: list[float], folder: Path, db: Database) -> None:
    """600 passes a second apart with the store's folder gone (a reminder 300 s in), then
    5 with it back."""
    away = folder.with_name(folder.name + "-away")
    folder.rename(away)
    db.engine.dispose()  # pooled connections would still hold the moved file open
    for _ in range(600):
        step()
        now[0] += 1.0
    away.rename(folder)
    for _ in range(5):
        step()
        now[0] += 1.0


@pytest.mark.parametrize("loop", ["webhooks", "monitors"])
def test_ten_minutes_away_is_three_lines_not_a_traceback_a_second(
    loop: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    uri = f"sqlite:///{folder}/yard.db"
    client = MonitoringClient(uri)  # a migrated store
    db = resolve(uri, Settings.from_env()).db  # the one the client uses
    assert db is not None
    now = [1000.0]
    if loop == "webhooks":
        dispatcher = Dispatcher(db, allow_private=True, health_clock=lambda: now[0])
        step: Callable[[], object] = dispatcher.run_quietly
        who, meanwhile = "webhooks", "webhook deliveries wait in the outbox"
    else:
        scheduler = MonitorScheduler(client, tick_s=3600, health_clock=lambda: now[0])
        step = scheduler.tick_quietly
        who, meanwhile = "monitors", "due monitors run when it answers"
    caplog.set_level(logging.DEBUG, logger="modelyard")
    step()  # it answers: nothing to say
    _outage(step, now, folder, db)
    lines = _lines(caplog)
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "INFO"], lines
    assert lines[0][1].startswith(f"{who}: the store {uri} is unreachable: ")
    assert lines[0][1].endswith(f"; {meanwhile}")
    assert lines[1][1].startswith(f"{who}: the store {uri} is still unreachable after 300 s: ")
    assert lines[2][1] == f"{who}: the store {uri} answers again (unreachable for 600 s)"
    assert not any(r.exc_info for r in caplog.records)


def test_a_postgresql_that_refuses_is_named_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = Database("postgresql+psycopg://yard:s3cret@127.0.0.1:1/yard?password=s3cret")
    now = [0.0]
    dispatcher = Dispatcher(db, allow_private=True, health_clock=lambda: now[0])
    caplog.set_level(logging.DEBUG, logger="modelyard")
    for _ in range(30):
        dispatcher.run_quietly()
        now[0] += 1.0
    lines = _lines(caplog)
    assert len(lines) == 1 and lines[0][0] == "WARNING", lines
    assert lines[0][1].startswith(
        "webhooks: the store postgresql+psycopg://127.0.0.1:1/yard is unreachable: "
    )
    assert "s3cret" not in caplog.text and not any(r.exc_info for r in caplog.records)
    db.engine.dispose()


def test_a_bug_still_gets_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MonitoringClient(f"sqlite:///{tmp_path}/yard.db")
    scheduler = MonitorScheduler(client, tick_s=3600)

    def broken() -> list[object]:
        raise KeyError("a bug")

    monkeypatch.setattr(client.store, "list_monitors", broken)
    caplog.set_level(logging.DEBUG, logger="modelyard")
    scheduler.tick_quietly()
    (record,) = [r for r in caplog.records if r.name == "modelyard.monitoring"]
    assert record.levelname == "ERROR" and record.exc_info is not None
