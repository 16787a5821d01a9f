"""What ``log_labels`` says it wrote is what it wrote: a row sent twice in one call is written
once, a label older than the stored one is neither recorded nor replacing, and a newer one
replaces (checked against the rows the store holds afterwards, over HTTP as the server's
callers see it)."""

from __future__ import annotations

import httpx
import pytest
from tests.fixtures.auth import AuthServer

API = "/api/v1/predictions/labels"


@pytest.mark.parametrize(
    ("sent", "answer", "kept"),
    [
        ([10, 20], {"recorded": 0, "replaced": 0}, 1000),  # both older than the stored 1000
        ([2000], {"recorded": 1, "replaced": 1}, 2000),
        ([2000, 3000], {"recorded": 1, "replaced": 1}, 3000),  # one row, written once
        ([3000, 2000], {"recorded": 1, "replaced": 1}, 3000),  # the latest time wins
        ([1000], {"recorded": 1, "replaced": 1}, 1000),  # a tie: the one written last
    ],
)
def test_counts_say_what_was_written(
    auth_server: AuthServer, sent: list[int], answer: dict[str, int], kept: int
) -> None:
    headers = {"Authorization": f"Bearer {auth_server.seeded.tokens['alice']}"}  # churn editor
    with httpx.Client(base_url=auth_server.url, headers=headers) as http:
        first = {"labels": [{"request_id": "c-1", "label": 0, "time": 1000}], "project": "churn"}
        assert http.post(API, json=first).json() == {"recorded": 1, "replaced": 0}
        labels = [{"request_id": "c-1", "label": i + 1, "time": t} for i, t in enumerate(sent)]
        for _ in range(2):  # the second time, each label ties with itself or is older
            got = http.post(API, json={"labels": labels, "project": "churn"})
            assert got.status_code == 200, got.text
            if _ == 0:
                assert got.json() == answer
        stored = http.post(f"{API}/lookup", json={"request_ids": ["c-1"]}).json()["labels"]
        assert [x["time"] for x in stored] == [kept]
        fresh = {"labels": [{"request_id": "c-2", "label": 1, "time": t} for t in (100, 50, 50)]}
        assert http.post(API, json={**fresh, "project": "churn"}).json() == {
            "recorded": 1,
            "replaced": 0,
        }
