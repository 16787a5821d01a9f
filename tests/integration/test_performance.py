"""yard.monitoring.performance: predictions shipped from a server's log, labels that arrive
later (some twice, some for unknown ids), scored per window and per slice, and backfilled
as labels arrive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn import metrics as sk

import modelyard as yard
from modelyard.errors import InvalidArgument
from modelyard.serving.predlog.shipping import Shipper
from modelyard.serving.predlog.writer import SUFFIX

HOUR_MS = 3_600_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _ship(folder: Path, uri: str, rows: list[tuple[str, int, object, str]], version: str) -> None:
    """A server's log segment: (request id, time ms, prediction, region) per request."""
    folder.mkdir(exist_ok=True)
    lines = []
    for request_id, t, prediction, region in rows:
        record = {"k": "p", "id": request_id, "t": t, "e": "churn", "m": "churn", "v": version}
        record |= {"ms": 0.4, "s": False, "in": {"region": [region]}, "out": [prediction]}
        lines.append(orjson.dumps(record) + b"\n")
    (folder / f"{version}-{len(rows)}{SUFFIX}").write_bytes(b"".join(lines))
    assert Shipper(folder, uri).ship_all() == 1


def test_probability_metrics_per_window_and_slice_backfilled_as_labels_arrive(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    rng = np.random.default_rng(3)
    n = 600
    score = rng.random(n)
    truth = (rng.random(n) < score).astype(int)  # a calibrated model
    times = START + (np.arange(n) * 3 * HOUR_MS) // n  # three hours of traffic
    regions = np.where(np.arange(n) % 3 == 0, "north", "south")
    rows = [(f"r{i}", int(times[i]), float(score[i]), str(regions[i])) for i in range(n)]
    _ship(tmp_path / "log", uri, rows, "4")

    before = yard.monitoring.performance("churn", version=4, window="1h")
    assert before.overall["predictions"] == n and before.overall["labeled"] == 0
    assert before.overall["roc_auc"] is None and before.overall["accuracy"] is None

    first = {f"r{i}": int(truth[i]) for i in range(n // 2)}  # the first half arrives
    first |= {"never-seen": 1}  # a label for an id no server logged joins nothing
    yard.monitoring.log_labels(first)
    half = yard.monitoring.performance("churn", version=4, window="1h")
    assert half.task == "probability" and half.overall["labeled"] == n // 2
    frame = half.to_frame()
    assert frame["window"].tolist() == [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T01:00:00+00:00",
        "2026-01-01T02:00:00+00:00",
    ]
    assert frame["label_coverage"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert frame["roc_auc"].iloc[2] is None or np.isnan(frame["roc_auc"].iloc[2])

    rest = pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(n // 2, n)], "label": truth[n // 2 :]}
    )
    rest.to_csv(tmp_path / "labels.csv", index=False)  # the second half comes as a file
    assert yard.monitoring.log_labels(tmp_path / "labels.csv") == n - n // 2
    wrong = [{"request_id": "r0", "label": 1 - int(truth[0]), "time": 1}]  # older: ignored
    yard.monitoring.log_labels(wrong)
    full = yard.monitoring.performance("churn", version=4, window="1h", by="region")
    overall = full.overall
    assert overall["labeled"] == n
    assert overall["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, score))
    assert overall["log_loss"] == pytest.approx(sk.log_loss(truth, score))
    assert overall["accuracy"] == pytest.approx(sk.accuracy_score(truth, score >= 0.5))
    assert overall["calibration_error"] < 0.1
    sliced = full.to_frame()
    assert len(sliced) == 6 and set(sliced["region"]) == {"north", "south"}
    north = sliced[(sliced.region == "north") & (sliced.window.str.startswith("2026-01-01T00"))]
    mask = (regions == "north") & (times < START + HOUR_MS)
    assert north["roc_auc"].iloc[0] == pytest.approx(sk.roc_auc_score(truth[mask], score[mask]))
    assert orjson.loads(orjson.dumps(full.to_dict()))["overall"]["labeled"] == n
    page = full.to_html(tmp_path / "performance.html", title="churn v4")
    assert (tmp_path / "performance.html").read_text() == page
    metrics = [
        c
        for c in full.to_frame().columns
        if c not in ("window", "region", "predictions", "labeled")
    ]
    assert page.count("<polyline") == 2 * len(metrics)  # a line per region for each metric
    assert "<script" not in page and "region=north" in page and "region=south" in page
    assert page.count("<h2>roc_auc</h2>") == 1 and len(page.encode()) < 200_000


def test_a_label_table_with_gaps_and_zoned_times_records_the_labels_it_has(
    tmp_path: Path,
) -> None:
    """A label table as it is exported: float labels, missing where the truth is not known
    yet (those rows are no labels), and when each became known as a zoned time. The frame
    ``predictions()`` answers, with more labels filled in, goes back the same way."""
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    _ship(tmp_path / "log", uri, [(f"r{i}", START + i, float(i % 2), "n") for i in range(6)], "1")
    known = pd.Timestamp("2026-01-02 09:30", tz="America/Sao_Paulo")
    table = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(6)],
            "row": 0,
            "label": [1.0, np.nan, 0.0, np.nan, 1.0, 0.0],
            "time": [known, known, pd.NaT, known, known + pd.Timedelta("1h"), known],
        }
    )
    assert yard.monitoring.log_labels(table) == 4
    stored = yard.monitoring.MonitoringClient().get_labels([f"r{i}" for i in range(6)])
    times = {label.request_id: label.time for label in stored}
    assert sorted(times) == ["r0", "r2", "r4", "r5"]
    assert times["r0"] == times["r5"] == 1_767_357_000_000  # 12:30 UTC
    assert times["r4"] == 1_767_357_000_000 + HOUR_MS and times["r2"] > times["r4"]  # now
    frame = yard.monitoring.predictions("churn")
    assert frame["label"].notna().tolist() == [True, False, True, False, True, True]
    frame.loc[frame["request_id"] == "r1", "label"] = 0.0
    assert yard.monitoring.log_labels(frame[["request_id", "row", "label"]]) == 5


def test_classification_and_regression_are_found_from_the_labels(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    classes = ["basic", "plus", "pro"]
    rows: list[tuple[str, int, object, str]] = [
        (f"c{i}", START + i * 1000, classes[i % 3], "x") for i in range(90)
    ]
    _ship(tmp_path / "log", uri, rows, "1")
    labels = {f"c{i}": classes[(i + (i % 10 == 0)) % 3] for i in range(90)}
    yard.monitoring.log_labels(labels)
    report = yard.monitoring.performance("churn", version=1)
    assert report.task == "classification"
    truth = [labels[f"c{i}"] for i in range(90)]
    predicted = [classes[i % 3] for i in range(90)]
    assert report.overall["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted))
    assert report.overall["f1"] == pytest.approx(sk.f1_score(truth, predicted, average="macro"))

    rows = [(f"g{i}", START + i * 1000, 10.0 + i * 0.5, "x") for i in range(50)]
    _ship(tmp_path / "log2", uri, rows, "2")
    yard.monitoring.log_labels({f"g{i}": 10.0 + i * 0.5 + (1 if i % 2 else -1) for i in range(50)})
    reg = yard.monitoring.performance("churn", version=2, window="1d")
    assert reg.task == "regression"
    assert reg.overall["mae"] == pytest.approx(1.0) and reg.overall["rmse"] == pytest.approx(1.0)


def test_bad_options_name_the_field(tmp_path: Path) -> None:
    yard.set_tracking_uri(f"sqlite:///{tmp_path}/yard.db")
    for kwargs, field in (
        ({"window": "soon"}, "window"),
        ({"window": "0h"}, "window"),
        ({"task": "ranking"}, "task"),
        ({"by": "nope"}, "by"),
    ):
        with pytest.raises(InvalidArgument) as err:
            yard.monitoring.performance("churn", **kwargs)
        assert err.value.field == field
    empty = yard.monitoring.performance("churn")  # nothing logged: a documented empty result
    assert empty.overall["predictions"] == 0 and empty.windows == []


def test_the_window_bounds_are_exact_to_the_millisecond(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    t = START + 123  # a time with milliseconds
    _ship(
        tmp_path / "log",
        uri,
        [("a", t - 1, 0.2, "x"), ("b", t, 0.4, "x"), ("c", t + 1, 0.6, "x")],
        "1",
    )
    ids = yard.monitoring.predictions("churn", since=t, until=t + 1)["request_id"].tolist()
    assert ids == ["b"]  # since is inclusive, until exclusive
    assert yard.monitoring.predictions("churn", since=t + 1)["request_id"].tolist() == ["c"]
