"""The tracking contract: every case runs against SQLite, PostgreSQL and through the server."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

import modelyard as yard
from modelyard import Client, Metric
from modelyard.errors import AlreadyExists, InvalidArgument, NotFound


@pytest.fixture
def client(tracking_uri: str) -> Iterator[Client]:
    with Client(tracking_uri) as c:
        yield c


def test_default_experiment_exists(client: Client) -> None:
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert [e.name for e in client.search_experiments()] == ["Default"]


def test_experiment_lifecycle(client: Client) -> None:
    eid = client.create_experiment("churn", tags={"team": "growth"})
    assert client.get_experiment(eid).tags == {"team": "growth"}
    assert client.get_experiment_by_name("churn").experiment_id == eid
    with pytest.raises(AlreadyExists, match="churn"):
        client.create_experiment("churn")
    client.rename_experiment(eid, "churn-v2")
    assert client.get_experiment(eid).name == "churn-v2"
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert "churn-v2" not in [e.name for e in client.search_experiments()]
    assert "churn-v2" in [e.name for e in client.search_experiments(view="deleted")]
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    client.set_experiment_tag(eid, "owner", "ana")
    assert client.get_experiment(eid).tags["owner"] == "ana"


def test_unknown_experiment_and_run(client: Client) -> None:
    with pytest.raises(NotFound, match="experiment 4242"):
        client.get_experiment("4242")
    with pytest.raises(InvalidArgument, match="experiment_id"):
        client.get_experiment("abc")
    with pytest.raises(NotFound, match="does not exist"):
        client.get_run("0" * 32)
    with pytest.raises(InvalidArgument, match="32 lowercase hex"):
        client.get_run("../../etc/passwd")


def test_run_data_round_trip(client: Client) -> None:
    eid = client.create_experiment("exp")
    run = client.create_run(eid, run_name="rf", tags={"team": "growth"})
    rid = run.info.run_id
    assert len(rid) == 32 and run.info.status == "RUNNING"
    client.log_param(rid, "max_depth", 8)
    client.log_batch(rid, params={"lr": 0.1}, tags={"stage": "dev"})
    for step in range(5):
        client.log_metric(rid, "loss", 1.0 / (step + 1), step=step, timestamp=1000 + step)
    client.log_metric(rid, "nan", math.nan)
    client.log_metric(rid, "pinf", math.inf)
    client.log_metric(rid, "ninf", -math.inf)
    client.set_tag(rid, "stage", "prod")  # tags are mutable
    client.set_terminated(rid, "FINISHED")
    got = client.get_run(rid)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.info.run_name == "rf"
    assert got.data.params == {"max_depth": "8", "lr": "0.1"}
    assert got.data.tags == {"team": "growth", "stage": "prod"}
    assert got.data.metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(got.data.metrics["nan"])
    assert got.data.metrics["pinf"] == math.inf and got.data.metrics["ninf"] == -math.inf
    history = client.get_metric_history(rid, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(s, 1000 + s) for s in range(5)]
    assert [m.value for m in history] == pytest.approx([1.0 / (s + 1) for s in range(5)])
    nan_hist = client.get_metric_history(rid, "nan")
    assert len(nan_hist) == 1 and math.isnan(nan_hist[0].value)


def test_latest_metric_is_the_highest_step(client: Client) -> None:
    run = client.create_run("0")
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("m", 5.0, 10, 3), Metric("m", 9.0, 20, 1)])
    client.log_metric(rid, "m", 7.0, step=2, timestamp=30)
    assert client.get_run(rid).data.metrics["m"] == 5.0
    client.log_metric(rid, "m", 1.0, step=4, timestamp=5)
    assert client.get_run(rid).data.metrics["m"] == 1.0


def test_delete_tag_and_restore_run(client: Client) -> None:
    rid = client.create_run("0", tags={"a": "1", "b": "2"}).info.run_id
    client.delete_tag(rid, "a")
    assert client.get_run(rid).data.tags == {"b": "2"}
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    assert client.search_runs(["0"]).runs == []
    assert [r.info.run_id for r in client.search_runs(["0"], run_view_type="deleted").runs] == [rid]
    client.log_metric(rid, "x", 1.0)
    with pytest.raises(InvalidArgument, match="deleted"):
        client.flush()
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"


def test_param_overwrite_reported_at_the_call(client: Client) -> None:
    rid = client.create_run("0").info.run_id
    client.log_param(rid, "lr", "0.1")
    client.log_param(rid, "lr", "0.1")  # same value: fine
    with pytest.raises(InvalidArgument, match="immutable"):
        client.log_param(rid, "lr", "0.2")
    assert client.get_run(rid).data.params == {"lr": "0.1"}


def test_param_overwrite_from_another_client_reported_at_flush(
    client: Client, tracking_uri: str
) -> None:
    rid = client.create_run("0").info.run_id
    client.log_param(rid, "lr", "0.1")
    client.flush()
    other = Client(tracking_uri)
    other.log_batch(rid, params={"lr": "0.5"}, metrics=[Metric("kept", 1.0, 1, 0)])
    with pytest.raises(InvalidArgument, match="immutable") as err:
        other.flush()
    assert err.value.field == "params['lr']"
    run = client.get_run(rid)
    assert run.data.params == {"lr": "0.1"}
    assert "kept" not in run.data.metrics  # the bad batch is not half-written
    other.close()


def test_logging_to_an_unknown_run_fails_at_flush_and_spares_the_rest(client: Client) -> None:
    good = client.create_run("0").info.run_id
    client.log_metric("f" * 32, "x", 1.0)
    client.log_metric(good, "x", 2.0)
    with pytest.raises(NotFound, match="f" * 32):
        client.flush()
    assert client.get_run(good).data.metrics == {"x": 2.0}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "must not be empty"),
        ("x" * 1_000_000, "limit is 250"),
        ("bad\x07key", "control character"),
        ("a%2Fb", "percent-escape"),
        ("../up", "'..'"),
    ],
)
def test_invalid_metric_keys_are_refused_at_the_call(
    client: Client, key: str, message: str
) -> None:
    rid = client.create_run("0").info.run_id
    with pytest.raises(InvalidArgument, match=message) as err:
        client.log_metric(rid, key, 1.0)
    assert err.value.field == "metric key"
    client.log_metric(rid, "a/b", 1.0)  # a real slash is a fine key
    assert client.get_run(rid).data.metrics == {"a/b": 1.0}


@pytest.mark.parametrize("value", ["0.5", None, [1], {"v": 1}, b"1"])
def test_non_numeric_metric_values(client: Client, value: object) -> None:
    rid = client.create_run("0").info.run_id
    with pytest.raises(InvalidArgument, match="must be a number"):
        client.log_metric(rid, "m", value)  # type: ignore[arg-type]


def test_a_batch_of_a_million_metrics_is_refused_whole(client: Client) -> None:
    rid = client.create_run("0").info.run_id
    huge = [Metric("m", float(i), 1, i) for i in range(1_000_000)]
    with pytest.raises(InvalidArgument, match="at most 100000 per batch, got 1000000") as err:
        client.log_batch(rid, metrics=huge)
    assert err.value.field == "metrics"
    assert client.get_metric_history(rid, "m") == []


def test_invalid_names(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="must not be empty"):
        client.create_experiment("")
    with pytest.raises(InvalidArgument, match="limit is 500"):
        client.create_experiment("e" * 1_000_000)
    with pytest.raises(InvalidArgument, match="control character"):
        client.create_experiment("a\nb")
    with pytest.raises(InvalidArgument, match="param"):
        client.log_batch(client.create_run("0").info.run_id, params={"p": "v" * 6001})


def test_search_filter_order_and_pages(client: Client) -> None:
    eid = client.create_experiment("search")
    ids = []
    for i in range(12):
        rid = client.create_run(eid, run_name=f"r{i}", start_time=1000 + i).info.run_id
        client.log_batch(
            rid,
            metrics=[Metric("auc", i / 10, 1, 0)],
            params={"depth": str(i % 3)},
            tags={"team": "a" if i % 2 else "b"},
        )
        ids.append(rid)
    page = client.search_runs(
        eid, "metrics.auc > 0.3 and params.depth = '1'", order_by=["metrics.auc DESC"]
    )
    assert [r.info.run_name for r in page.runs] == ["r10", "r7", "r4"]
    first = client.search_runs(eid, order_by=["metrics.auc ASC"], max_results=5)
    assert len(first.runs) == 5 and first.next_page_token
    second = client.search_runs(
        eid, order_by=["metrics.auc ASC"], max_results=5, page_token=first.next_page_token
    )
    third = client.search_runs(
        eid, order_by=["metrics.auc ASC"], max_results=5, page_token=second.next_page_token
    )
    names = [r.info.run_name for p in (first, second, third) for r in p.runs]
    assert names == [f"r{i}" for i in range(12)] and third.next_page_token is None
    with pytest.raises(InvalidArgument, match="another search"):
        client.search_runs(eid, "metrics.auc > 0", page_token=first.next_page_token)
    injected = client.search_runs(eid, "tags.team = 'a'' OR ''1''=''1'")
    assert injected.runs == []
    with pytest.raises(InvalidArgument, match="position 13"):
        client.search_runs(eid, "metrics.auc >> 1")


def test_nested_runs_and_fluent_api(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    exp = yard.set_experiment("churn")
    with yard.start_run(run_name="parent", tags={"team": "growth"}) as parent:
        yard.log_params({"n_estimators": 200, "max_depth": 8})
        for step in range(10):
            yard.log_metric("loss", 1 / (step + 1), step=step)
        yard.log_metrics({"auc": 0.91, "f1": 0.83})
        with yard.start_run(run_name="fold-1", nested=True) as child:
            yard.log_metric("auc", 0.5)
        with pytest.raises(InvalidArgument, match="already active"):
            yard.start_run()
    frame = yard.search_runs(
        experiment_names=["churn"],
        filter="metrics.auc > 0.9 and params.max_depth = '8'",
        order_by=["metrics.auc DESC"],
        max_results=50,
    )
    assert list(frame["run_id"]) == [parent.run_id]
    assert frame.loc[0, "tags.team"] == "growth" and frame.loc[0, "metrics.f1"] == 0.83
    assert frame.loc[0, "status"] == "FINISHED"
    got = yard.Client().get_run(child.run_id)  # Client() follows set_tracking_uri
    assert got.info.parent_run_id == parent.run_id
    assert got.info.experiment_id == exp.experiment_id
    assert got.data.tags["modelyard.python"]
    all_runs = yard.search_runs(experiment_ids=[exp.experiment_id])
    assert set(all_runs["run_id"]) == {parent.run_id, child.run_id}


def test_exception_inside_start_run_marks_it_failed(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    with pytest.raises(ZeroDivisionError), yard.start_run() as run:
        yard.log_metric("before", 1.0)
        _ = 1 / 0
    got = yard.get_run(run.run_id)
    assert got.info.status == "FAILED" and got.data.metrics == {"before": 1.0}
    assert yard.active_run() is None


def test_end_run_is_a_durability_point(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    run = yard.start_run()
    for i in range(2000):
        yard.log_metric("m", float(i), step=i)
    yard.end_run()
    other = Client(tracking_uri)  # another client sees everything without flushing
    assert len(other.get_metric_history(run.run_id, "m")) == 2000
    assert other.get_run(run.run_id).info.status == "FINISHED"
    other.close()


def test_reproducibility_tags(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    with yard.start_run() as run:
        pass
    tags = yard.get_run(run.run_id).data.tags
    assert tags["modelyard.python"].count(".") == 2
    assert "pytest" in tags["modelyard.packages"]
    assert tags["modelyard.source.name"]
    assert tags["modelyard.source.args"].startswith("[")


def test_system_metrics_are_sampled_when_asked(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    with yard.start_run(log_system_metrics=True, system_metrics_interval=0.2) as run:
        time.sleep(0.9)
    metrics = yard.get_run(run.run_id).data.metrics
    assert 0 <= metrics["system/cpu_utilization_percentage"] <= 100 * 64
    assert metrics["system/system_memory_usage_megabytes"] > 0
    assert "system/disk_usage_percentage" in metrics
    history = yard.Client().get_metric_history(run.run_id, "system/system_memory_usage_megabytes")
    assert len(history) >= 2
