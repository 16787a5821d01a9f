"""Labels as a user has them in Python: a frame with a zoned ``time`` column and gaps in its
float labels (a gap is a label not known yet, left out), datetimes and ISO text in a list;
times mean the same instant whatever their zone, and a refusal names the row and the field
(``since``, not ``at``)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import InvalidArgument
from modelyard.monitoring import MonitoringClient


@pytest.fixture
def client(tmp_path: Path) -> MonitoringClient:
    return MonitoringClient(f"sqlite:///{tmp_path}/labels.db")


def test_a_frame_with_zoned_times_and_gaps(client: MonitoringClient) -> None:
    known = pd.Timestamp("2026-12-03 09:00", tz="Europe/Berlin")
    frame = pd.DataFrame(
        {
            "request_id": ["a", "b", "c"],
            "row": [0, 0, 2],
            "label": [1.0, np.nan, 0.0],
            "time": [known, known, pd.NaT],
        }
    )
    for _ in range(2):
        assert client.log_labels(frame) == 2  # b's label is not known yet: left out
    assert [lb.request_id for lb in client.get_labels(["b"])] == []
    found = {lb.request_id: lb for lb in client.get_labels(["a", "c"])}
    assert (found["a"].row, found["a"].label, found["c"].row) == (0, 1.0, 2)
    assert found["a"].time == int(known.timestamp() * 1000) == 1_796_284_800_000
    assert found["c"].time is not None  # NaT: the time it was recorded


def test_datetimes_and_iso_text_in_a_list(client: MonitoringClient) -> None:
    utc = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
    labels = [
        {"request_id": "d", "label": 1, "time": utc},
        {"request_id": "e", "label": 0, "time": "2026-12-03T09:00:00+01:00"},
    ]
    assert client.log_labels(labels) == 2
    assert {lb.time for lb in client.get_labels(["d", "e"])} == {1_796_284_800_000}
    with pytest.raises(InvalidArgument) as refused:
        client.log_labels([{"request_id": "f", "label": 1, "time": "tomorrow morning"}])
    assert refused.value.field == "labels[0].time" and "'tomorrow morning'" in str(
        refused.value.message
    )


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_that_is_not_one_names_the_parameter(client: MonitoringClient, name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.predictions("churn", **{name: "last tuesday"})
    assert refused.value.field == name and refused.value.message.startswith(f"{name} must be")
