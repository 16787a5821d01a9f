"""Run updates written in one batch (the writer's flush): a run made and ended between two
flushes is stored ended, updates of other runs land whatever columns each changes, and the
last value of a column wins — on SQLite, PostgreSQL and through the server."""

from __future__ import annotations

import modelyard as yard


def test_runs_created_updated_and_ended_in_one_batch(tracking_uri: str) -> None:
    client = yard.Client(tracking_uri)
    exp = client.create_experiment("batches")
    before = client.create_run(exp, run_name="before")
    client.flush()
    for _ in range(2):  # the same shapes again, with the earlier rows in the store
        made = client.create_run(exp, run_name="made", tags={"k": "v"})
        renamed = client.create_run(exp, run_name="old")
        child = client.create_run(exp, run_name="child", parent_run_id=made.info.run_id)
        client.update_run(renamed.info.run_id, name="new")
        client.set_terminated(made.info.run_id, "FAILED", end_time=1_000)
        client.set_terminated(made.info.run_id, "FINISHED", end_time=2_000)  # the last wins
        client.update_run(before.info.run_id, status="SCHEDULED")
        client.update_run(before.info.run_id, name="before-renamed")
        client.set_tag(child.info.run_id, "t", 1)
        client.delete_tag(child.info.run_id, "t")  # flushes what came before, in order
        client.set_terminated(child.info.run_id, "KILLED", end_time=3_000)
        client.flush()

        got = client.get_run(made.info.run_id).info
        assert (got.status, got.end_time, got.run_name) == ("FINISHED", 2_000, "made")
        assert client.get_run(made.info.run_id).data.tags["k"] == "v"
        got = client.get_run(renamed.info.run_id).info
        assert (got.status, got.end_time, got.run_name) == ("RUNNING", None, "new")
        got = client.get_run(before.info.run_id).info
        assert (got.status, got.run_name) == ("SCHEDULED", "before-renamed")
        got = client.get_run(child.info.run_id)
        assert (got.info.status, got.info.end_time) == ("KILLED", 3_000)
        assert "t" not in got.data.tags
