"""A time given to the monitoring SDK that is not one: the refusal names the parameter the
caller used (``since``, ``until``), not ``at``."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import InvalidArgument
from modelyard.monitoring import MonitoringClient


@pytest.fixture
def client(tmp_path: Path) -> MonitoringClient:
    return MonitoringClient(f"sqlite:///{tmp_path}/labels.db")


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_that_is_not_one_names_the_parameter(client: MonitoringClient, name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.predictions("churn", **{name: "last tuesday"})
    assert refused.value.field == name and refused.value.message.startswith(f"{name} must be")
