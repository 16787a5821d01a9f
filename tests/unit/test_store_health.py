"""A store that goes away is said in the serve log when that changes, never at each poll."""

from __future__ import annotations

import logging

import pytest

from modelyard.errors import Unavailable
from modelyard.platform.store_health import StoreHealth, store_name


def test_an_outage_is_one_warning_a_rare_reminder_and_one_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    health = StoreHealth("http://store:5000", "serving on", remind_s=300, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="modelyard")
    away = Unavailable("cannot reach the modelyard server at http://store:5000: refused")
    health.answered()  # it answered all along: nothing to say
    for _ in range(60):  # a poll every 5 s for 300 s
        health.failed(away)
        now[0] += 5
    health.failed(away)  # 300 s on: reminded
    for _ in range(10):
        health.failed(away)
    now[0] += 12
    health.answered()
    health.answered()
    health.failed(away)  # a second outage is news again
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "the store http://store:5000 is unreachable: cannot reach the modelyard server "
            "at http://store:5000: refused; serving on",
        ),
        (
            "WARNING",
            "the store http://store:5000 is still unreachable after 300 s: cannot reach the "
            "modelyard server at http://store:5000: refused",
        ),
        ("INFO", "the store http://store:5000 answers again (unreachable for 312 s)"),
        (
            "WARNING",
            "the store http://store:5000 is unreachable: cannot reach the modelyard server "
            "at http://store:5000: refused; serving on",
        ),
    ]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://ops:s3cret@yard.example.com/", "https://yard.example.com/"),
        (
            "postgresql+psycopg://app:pw@db:5432/yard?password=pw&sslmode=require",
            "postgresql+psycopg://db:5432/yard",
        ),
        ("sqlite:////srv/yard.db", "sqlite:////srv/yard.db"),
        ("/srv/yard", "/srv/yard"),
    ],
)
def test_the_store_is_named_without_its_secrets(uri: str, name: str) -> None:
    assert store_name(uri) == name
