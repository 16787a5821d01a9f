"""A monitor read back from the store (a ``MonitorSpec``) equals the ``Monitor`` saved, by
value, either way round; a changed field makes them differ."""

from __future__ import annotations

from dataclasses import replace

import modelyard as yard
from modelyard.monitoring.monitors.spec import MonitorSpec


def _monitor() -> yard.monitoring.Monitor:
    return yard.monitoring.Monitor(
        name="auc",
        model="churn",
        window="1h",
        checks=[yard.monitoring.PerformanceCheck("auc", lt=0.9, min_labeled=10)],
        alerts=[yard.monitoring.Webhook("https://hooks.example/x", secret="k3y")],
    )


def test_a_spec_read_back_equals_the_monitor_saved() -> None:
    saved = _monitor()
    read = MonitorSpec.from_dict(saved.to_dict())
    assert type(read) is MonitorSpec
    assert read == saved and saved == read
    assert read != replace(saved, window="2h") and replace(saved, window="2h") != read
    assert saved != "auc" and read != saved.to_dict()
