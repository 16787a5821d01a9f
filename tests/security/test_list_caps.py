"""Every list the server answers is bounded: one table row per list endpoint, each filled with
more rows than a small ``limit``. A paged list (prediction files, monitors, datasets, dataset
versions, lineage edges, alias moves, approval requests) answers at most ``limit`` rows and a
``next_page_token``, and walking the tokens gives every row exactly once, in order; a list
that comes in one answer (alias policies, webhooks, deployments) answers at most ``limit``.
A bad ``limit`` or ``page_token`` is a 400 naming it, over HTTP and through the SDK; the SDK
follows the pages when asked for everything, and the CLI says when it shows only the first.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd
import pytest
from tests.fixtures.http import error_of
from tests.fixtures.logged import log_source
from tests.fixtures.stores import ServerThread

import modelyard as yard
from modelyard.cli.main import main
from modelyard.data import store as data_store
from modelyard.data.client import DataClient
from modelyard.monitoring import store as monitoring_store
from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.entities import PredictionFile
from modelyard.platform.search.paging import encode_page_token
from modelyard.registry import store as registry_store

ROWS = 7  # rows made for each list
SMALL = 3  # the limit asked for: pages of 3, 3 and 1
Params = dict[str, Any]


def _frame(i: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [i, i + 1]})


def _registry(uri: str) -> yard.Client:
    """A client whose store holds the model churn with one version."""
    c = yard.Client(uri)
    c.create_registered_model("churn")
    source, _ = log_source(c)
    c.create_model_version("churn", source)
    return c


def _files(uri: str, n: int) -> Params:
    data, monitoring = DataClient(uri), MonitoringClient(uri)
    for i in range(n):
        body = f"predictions {i}".encode()
        sha = hashlib.sha256(body).hexdigest()
        data.blobs.put(sha, [body], len(body))
        meta = PredictionFile(sha, len(body), "churn", "1", "api", 1, 1_000 + i, 1_000 + i)
        monitoring.store.add_prediction_file(meta)
    return {"model": "churn"}


def _monitors(uri: str, n: int) -> Params:
    client = MonitoringClient(uri)
    for i in range(n):
        check = yard.monitoring.PerformanceCheck("auc", lt=0.9, min_labeled=10)
        monitor = yard.monitoring.Monitor(
            name=f"m{i}", model="churn", window="1h", checks=[check], alerts=[yard.monitoring.Log()]
        )
        client.save_monitor(monitor)
    return {}


def _datasets(uri: str, n: int) -> Params:
    data = DataClient(uri)
    for i in range(n):
        data.log_dataset(_frame(i), f"ds{i}", profile=False)
    return {}


def _versions(uri: str, n: int) -> Params:
    data = DataClient(uri)
    for i in range(n):
        data.log_dataset(_frame(i), "ds", profile=False)
    return {"name": "ds"}


def _edges(uri: str, n: int) -> Params:
    data, runs = DataClient(uri), yard.Client(uri)
    version = data.log_dataset(_frame(0), "ds", profile=False)
    for _ in range(n):
        run_id = runs.create_run("0").info.run_id
        runs.flush()
        data.link_run("ds", version.version, run_id)
    return {"type": "dataset_version", "id": version.version_id}


def _moves(uri: str, n: int) -> Params:
    c = _registry(uri)
    for i in range(n):
        c.set_alias("churn", f"a{i}", 1)
    return {}


def _requests(uri: str, n: int) -> Params:
    c = _registry(uri)
    for i in range(n):
        c.request_approval("churn", 1, alias=f"a{i}")
    return {}


def _policies(uri: str, n: int) -> Params:
    c = yard.Client(uri)
    c.create_registered_model("churn")
    for i in range(n):
        c.set_alias_policy("churn", f"a{i}")
    return {}


def _webhooks(uri: str, n: int) -> Params:
    c = yard.Client(uri)
    for i in range(n):  # a private address: the store is told to allow them, nothing is sent
        c.create_webhook(f"http://127.0.0.1:9/hook{i}", ["model_version.created"])
    return {}


def _deployments(uri: str, n: int) -> Params:
    c = _registry(uri)
    for i in range(n):
        c.create_deployment(f"d{i}", {"models:/churn/1": 1})
    return {}


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    key: str  # the list in the answer
    ident: Callable[[dict[str, Any]], Any]  # a row's identity, in the list's order
    fill: Callable[[str, int], Params]  # makes n rows; the query that lists them
    default: int
    most: int
    paged: bool
    sdk: Callable[[str, int | None], list[Any]]  # the SDK's list (identities), limit or all
    placeholders: Params  # required query parameters, for requests that fail before reading
    other: Params | None = None  # the same list filtered otherwise (its tokens differ)


LISTINGS = [
    Listing(
        "prediction files",
        "/api/v1/predictions/files",
        "files",
        lambda r: r["first_time"],
        _files,
        monitoring_store.FILES_PAGE_DEFAULT,
        monitoring_store.FILES_PAGE_MAX,
        True,
        lambda uri, n: [
            f.first_time for f in MonitoringClient(uri).prediction_files("churn", limit=n)
        ],
        {},
        {"model": "other"},
    ),
    Listing(
        "monitors",
        "/api/v1/monitors",
        "monitors",
        lambda r: r["name"],
        _monitors,
        monitoring_store.MONITORS_PAGE_DEFAULT,
        monitoring_store.MONITORS_PAGE_MAX,
        True,
        lambda uri, n: [m.name for m in MonitoringClient(uri).monitors(limit=n)],
        {},
    ),
    Listing(
        "datasets",
        "/api/v1/datasets",
        "datasets",
        lambda r: r["name"],
        _datasets,
        data_store.DATASETS_PAGE_DEFAULT,
        data_store.DATASETS_PAGE_MAX,
        True,
        lambda uri, n: [d.name for d in DataClient(uri).list_datasets(limit=n)],
        {},
    ),
    Listing(
        "dataset versions",
        "/api/v1/datasets/versions",
        "versions",
        lambda r: r["version"],
        _versions,
        data_store.VERSIONS_PAGE_DEFAULT,
        data_store.VERSIONS_PAGE_MAX,
        True,
        lambda uri, n: [v.version for v in DataClient(uri).versions("ds", limit=n)],
        {"name": "ds"},
    ),
    Listing(
        "lineage edges",
        "/api/v1/lineage/edges",
        "edges",
        lambda r: r["target"]["id"],
        _edges,
        data_store.EDGES_PAGE_DEFAULT,
        data_store.EDGES_PAGE_MAX,
        True,
        lambda uri, n: [
            e.target.id
            for e in DataClient(uri).store.edges(
                "dataset_version", DataClient(uri).get("ds").version_id, limit=n
            )
        ],
        {"type": "run", "id": "x"},
        {"type": "run", "id": "x"},
    ),
    Listing(
        "alias moves",
        "/api/v1/registry/models/churn/alias-history",
        "events",
        lambda r: r["alias"],
        _moves,
        registry_store.EVENTS_PAGE_DEFAULT,
        registry_store.EVENTS_PAGE_MAX,
        True,
        lambda uri, n: [e.alias for e in yard.Client(uri).get_alias_history("churn", limit=n)],
        {},
        {"alias": "a0"},
    ),
    Listing(
        "approval requests",
        "/api/v1/registry/approvals",
        "requests",
        lambda r: r["alias"],
        _requests,
        registry_store.REQUESTS_PAGE_DEFAULT,
        registry_store.REQUESTS_PAGE_MAX,
        True,
        lambda uri, n: [r.alias for r in yard.Client(uri).list_approval_requests(limit=n)],
        {},
        {"status": "PENDING"},
    ),
    Listing(
        "alias policies",
        "/api/v1/registry/policies",
        "policies",
        lambda r: r["alias"],
        _policies,
        registry_store.LIST_DEFAULT,
        registry_store.LIST_MAX,
        False,
        lambda uri, n: [
            p.alias
            for p in yard.Client(uri).list_alias_policies(
                limit=registry_store.LIST_MAX if n is None else n
            )
        ],
        {},
    ),
    Listing(
        "webhooks",
        "/api/v1/registry/webhooks",
        "webhooks",
        lambda r: r["url"],
        _webhooks,
        registry_store.LIST_DEFAULT,
        registry_store.LIST_MAX,
        False,
        lambda uri, n: [
            w.url
            for w in yard.Client(uri).list_webhooks(
                limit=registry_store.LIST_MAX if n is None else n
            )
        ],
        {},
    ),
    Listing(
        "deployments",
        "/api/v1/deployments",
        "deployments",
        lambda r: r["name"],
        _deployments,
        registry_store.LIST_DEFAULT,
        registry_store.LIST_MAX,
        False,
        lambda uri, n: [
            d.name
            for d in yard.Client(uri).list_deployments(
                limit=registry_store.LIST_MAX if n is None else n
            )
        ],
        {},
    ),
]
PAGED = [x for x in LISTINGS if x.paged]
IDS = [x.name for x in LISTINGS]


@pytest.fixture
def server(
    server_factory: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch
) -> ServerThread:
    """A live server that keeps webhooks to a private address (never called here) and runs no
    monitor on its own."""
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setenv("MODELYARD_MONITOR_TICK_SECONDS", "0")
    return server_factory()


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_a_list_answers_at_most_limit_and_its_pages_hold_every_row_once(
    listing: Listing, server: ServerThread, http: httpx.Client
) -> None:
    params = listing.fill(server.url, ROWS)
    whole = http.get(listing.path, params=params)
    assert whole.status_code == 200, whole.text
    everything = [listing.ident(r) for r in whole.json()[listing.key]]
    assert len(everything) == ROWS and len(set(everything)) == ROWS  # all fit the default
    small = http.get(listing.path, params={**params, "limit": SMALL}).json()
    assert [listing.ident(r) for r in small[listing.key]] == everything[:SMALL]
    at_most = http.get(listing.path, params={**params, "limit": listing.most})
    assert at_most.status_code == 200 and len(at_most.json()[listing.key]) == ROWS
    if not listing.paged:
        assert set(small) == {listing.key}  # one answer: what is past limit is not sent
        return
    assert whole.json()["next_page_token"] is None
    walked: list[Any] = []
    token, pages = small["next_page_token"], [len(small[listing.key])]
    walked += [listing.ident(r) for r in small[listing.key]]
    while token is not None:
        page = http.get(listing.path, params={**params, "limit": SMALL, "page_token": token})
        assert page.status_code == 200, page.text
        rows = page.json()[listing.key]
        pages.append(len(rows))
        walked += [listing.ident(r) for r in rows]
        token = page.json()["next_page_token"]
    assert pages == [3, 3, 1]
    assert walked == everything  # every row once, in the list's order


BAD_LIMITS = ["0", "-1", "x", "2.5", "", "99999999999999999999"]


def _forged(body: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_a_bad_limit_is_a_400_naming_it_and_the_api_description_states_the_cap(
    listing: Listing, http: httpx.Client
) -> None:
    for bad in [*BAD_LIMITS, str(listing.most + 1)]:
        r = http.get(listing.path, params={**listing.placeholders, "limit": bad})
        assert r.status_code == 400, (bad, r.status_code, r.text)
        assert error_of(r)["field"] == "limit", (bad, r.text)
    described = listing.path.replace("/models/churn/", "/models/{name}/")
    schema = http.get("/openapi.json").json()["paths"][described]["get"]["parameters"]
    limit = next(p["schema"] for p in schema if p["name"] == "limit")
    assert (limit["default"], limit["minimum"], limit["maximum"]) == (
        listing.default,
        1,
        listing.most,
    )
    if not listing.paged:
        assert all(p["name"] != "page_token" for p in schema)


@pytest.mark.parametrize("listing", PAGED, ids=[x.name for x in PAGED])
def test_a_page_token_that_is_not_this_lists_is_a_400_naming_it(
    listing: Listing, server: ServerThread, http: httpx.Client
) -> None:
    params = listing.fill(server.url, ROWS)
    token = http.get(listing.path, params={**params, "limit": SMALL}).json()["next_page_token"]
    assert http.get(listing.path, params={**params, "page_token": token}).status_code == 200
    for bad in [
        "not a token",
        "x" * 600,
        encode_page_token(3, "0" * 16),  # made for no list
        _forged({"offset": -1, "query": "0" * 16}),
        _forged({"offset": 2**70, "query": "0" * 16}),  # no database takes such an offset
    ]:
        r = http.get(listing.path, params={**params, "page_token": bad})
        assert r.status_code == 400, (bad, r.text)
        assert error_of(r)["field"] == "page_token", (bad, r.text)
    if listing.other is not None:  # the same list, filtered otherwise
        r = http.get(listing.path, params={**listing.other, "page_token": token})
        assert r.status_code == 400 and error_of(r)["field"] == "page_token", r.text
        assert "another search or list" in error_of(r)["message"]
    for other in PAGED:  # another list, where its query names something that exists
        if other is not listing and other.path != listing.path:
            r = http.get(other.path, params={**other.placeholders, "page_token": token})
            if r.status_code != 404:
                assert r.status_code == 400 and error_of(r)["field"] == "page_token", r.text


@pytest.fixture(params=["sqlite", "postgres", "server"])
def uri(request: pytest.FixtureRequest, server_factory: Callable[..., ServerThread]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path')}/yard.db"
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_store_url"))
    return str(request.getfixturevalue("server").url)


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_the_sdk_follows_the_pages_or_stops_at_limit(
    listing: Listing, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    listing.fill(uri, ROWS)
    for module in (monitoring_store, data_store, registry_store):
        for name in dir(module):  # the SDK reads in pages of 3, so it must follow them
            if name.endswith("_PAGE_MAX"):
                monkeypatch.setattr(module, name, SMALL)
    everything = listing.sdk(uri, None)
    assert len(everything) == ROWS and len(set(everything)) == ROWS
    assert listing.sdk(uri, 5) == everything[:5]  # across a page boundary
    bad_limits: list[Any] = [0, -1, True]
    bad_limits += ["5"] if listing.paged else [listing.most + 1]  # a server takes "5"
    for bad in bad_limits:
        with pytest.raises(yard.InvalidArgument) as caught:
            listing.sdk(uri, bad)  # type: ignore[arg-type]
        assert caught.value.field == "limit"


def test_page_methods_of_the_sdk_refuse_a_bad_limit_naming_it(uri: str) -> None:
    calls: list[Callable[[int], object]] = [
        lambda n: MonitoringClient(uri).prediction_files_page(limit=n),
        lambda n: MonitoringClient(uri).monitors_page(limit=n),
        lambda n: DataClient(uri).list_datasets_page(limit=n),
        lambda n: yard.Client(uri).list_approval_requests_page(limit=n),
    ]
    for call in calls:
        assert call(1) is not None
        for bad in (0, 10_001, -3):
            with pytest.raises(yard.InvalidArgument) as caught:
                call(bad)
            assert caught.value.field == "limit"


def test_the_cli_says_when_it_shows_only_the_first(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _datasets(uri, 4)
    _deployments(uri, 4)
    for command in (["datasets", "list"], ["deployments", "list"]):
        assert main([*command, "--limit", "2", "--json", "-t", uri]) == 0
        shown = capsys.readouterr()
        assert len(json.loads(shown.out)) == 2
        assert "showing the first 2" in shown.err and "--limit" in shown.err
        assert main([*command, "--limit", "4", "--json", "-t", uri]) == 0
        shown = capsys.readouterr()
        assert len(json.loads(shown.out)) == 4 and "showing" not in shown.err
        assert main([*command, "--limit", "0", "-t", uri]) != 0
        assert "--limit" in capsys.readouterr().err


# lists that were bounded before this table: their caps are refused past and described
EARLIER = [
    ("/api/v1/alerts", None, "limit", 1_000, 10_000, {}),
    ("/api/v1/monitors/m/runs", "/api/v1/monitors/{name}/runs", "limit", 100, 10_000, {}),
    ("/api/v1/audit", None, "limit", 100, 10_000, {}),
    (
        "/api/v1/registry/webhooks/w/deliveries",
        "/api/v1/registry/webhooks/{webhook_id}/deliveries",
        "limit",
        100,
        10_000,
        {},
    ),
    ("/api/v1/registry/models", None, "max_results", 100, 10_000, {}),
    ("/api/v1/registry/versions", None, "max_results", 100, 10_000, {}),
    ("/api/v1/experiments", None, "max_results", 1_000, 50_000, {}),
    (
        "/api/v1/runs/r/metric-history",
        "/api/v1/runs/{run_id}/metric-history",
        "max_results",
        10_000,
        25_000,
        {"key": "loss"},
    ),
]


@pytest.mark.parametrize(("path", "described", "field", "default", "most", "query"), EARLIER)
def test_the_earlier_caps_are_refused_past_and_described(
    http: httpx.Client,
    path: str,
    described: str | None,
    field: str,
    default: int,
    most: int,
    query: Params,
) -> None:
    for bad in ["0", "x", str(most + 1)]:
        r = http.get(path, params={**query, field: bad})
        assert r.status_code == 400, (bad, r.text)
        assert error_of(r)["field"] == field, (bad, r.text)
    schema = http.get("/openapi.json").json()["paths"][described or path]["get"]["parameters"]
    cap = next(p["schema"] for p in schema if p["name"] == field)
    assert (cap["default"], cap["minimum"], cap["maximum"]) == (default, 1, most)
