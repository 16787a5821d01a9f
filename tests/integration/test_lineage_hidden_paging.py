"""Lineage pages with authentication: an edge whose other end is in a project the caller
cannot read is left out, and the page is filled from the edges after it, so neither a page's
size nor its token tells that hidden edges exist."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

import modelyard as yard
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.config import Settings
from modelyard.data.backends import data_backend
from modelyard.data.tables import lineage_edges
from modelyard.identity import Actor, acting_as
from modelyard.platform import backends
from modelyard.platform.access import Grants
from modelyard.store.database import Database


def _offset(token: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["offset"])


# h: an edge to a fraud run, v: to a churn run, in the order they were made
PATTERN = "hvhhvvhvhh"


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_pages_of_a_node_hold_only_what_the_caller_sees_and_stop_with_it(
    tmp_path: Path, limit: int
) -> None:
    uri = f"sqlite:///{tmp_path}/lineage.db"
    settings = replace(Settings.from_env(), artifacts_uri=(tmp_path / "a").as_uri())
    db = Database(uri)
    auth = SqlAuthStore(db, settings)
    for project in ("churn", "fraud"):
        auth.create_project(project)
    runs: dict[str, list[str]] = {}
    for project in ("churn", "fraud"):
        with yard.Client(uri, settings=replace(settings, project=project)) as c:
            experiment = c.create_experiment(f"{project}-exp")
            runs[project] = [c.create_run(experiment).info.run_id for _ in range(7)]
    center, churn, fraud = runs["churn"][0], iter(runs["churn"][1:]), iter(runs["fraud"])
    wanted = []
    rows = []
    for i, kind in enumerate(PATTERN):
        other = next(fraud) if kind == "h" else next(churn)
        if kind == "v":
            wanted.append(other)
        rows.append({"source_type": "run", "source_id": center, "target_type": "run",
                     "target_id": other, "relation": "derived", "context": None,
                     "created_time": i})  # fmt: skip
    db.run_write(lambda conn: conn.execute(sa.insert(lineage_edges), rows))
    store = data_backend(backends.resolve(uri, settings)).store
    viewer = Actor("vera", id="v1", grants=Grants.of({"churn": ["viewer"]}))
    with acting_as(viewer):
        for _ in range(2):  # the same pages each time
            seen, sizes, token = [], [], None
            while True:
                page, token = store.edges_page("run", center, limit=limit, page_token=token)
                sizes.append(len(page))
                seen += [e.target.id for e in page]
                if token is None:
                    break
                # the token counts what this caller saw, not where the hidden edges are
                assert _offset(token) == len(seen)
            assert seen == wanted
            # every page but the last is full; no page is empty unless the node has nothing
            assert all(n == limit for n in sizes[:-1]) and 0 < sizes[-1] <= limit, sizes
            assert len(sizes) == -(-len(wanted) // limit)
    # an unrestricted caller (the operator at the database) sees every edge
    assert len(store.edges("run", center)) == len(PATTERN)
    backends.forget()
    db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_page_past_thousands_of_hidden_edges_takes_a_few_queries(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Hidden ends are looked up a batch at a time: the number of SQL statements for a page
    grows with the batches of edges, not with the hidden nodes."""
    uri = (
        f"sqlite:///{tmp_path}/lineage.db"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_store_url"))
    )
    settings = replace(Settings.from_env(), artifacts_uri=(tmp_path / "a").as_uri())
    db = Database(uri)
    auth = SqlAuthStore(db, settings)
    for project in ("churn", "fraud"):
        auth.create_project(project)
    with yard.Client(uri, settings=replace(settings, project="churn")) as c:
        experiment = c.create_experiment("churn-exp")
        center, seen_run = (c.create_run(experiment).info.run_id for _ in range(2))
    with yard.Client(uri, settings=replace(settings, project="fraud")) as c:
        hidden = c.create_run(c.create_experiment("fraud-exp")).info.run_id
    rows = [{"source_type": "run", "source_id": center, "target_type": "run",
             "target_id": f"{hidden[:24]}{i:08x}", "relation": "derived", "context": None,
             "created_time": i} for i in range(2500)]  # fmt: skip
    rows[0]["target_id"] = hidden
    rows.append({"source_type": "run", "source_id": center, "target_type": "run",
                 "target_id": seen_run, "relation": "derived", "context": None,
                 "created_time": 9999})  # fmt: skip
    db.run_write(lambda conn: conn.execute(sa.insert(lineage_edges), rows))
    store = data_backend(backends.resolve(uri, settings)).store
    statements: list[str] = []
    engine = store.db.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with acting_as(Actor("vera", id="v1", grants=Grants.of({"churn": ["viewer"]}))):
        page, token = store.edges_page("run", center, limit=1)
    assert [e.target.id for e in page] == [seen_run] and token is None
    assert len(statements) < 30, len(statements)
    backends.forget()
    db.dispose()
