"""The edge from the model a scoring used into the run that scored: ``model_version -> run``
(or, for a model named by its run, ``run -> run``), relation ``input``, so a lineage walk
from the model version reaches the run and, through its ``output`` edge, the scored dataset.

The data domain's dataset edges go through its client; this one is written with its public
edge service on the store's database, which is why batch scoring needs an embedded store
today (as pipeline runs do): ``check_embedded`` says so before anything is scored.
"""

from __future__ import annotations

from modelyard.config import Settings
from modelyard.data.lineage_rows import Node, add_edge
from modelyard.errors import InvalidArgument
from modelyard.platform.backends import resolve

CONTEXT = "batch_predict"


def check_embedded(tracking_uri: str | None, settings: Settings) -> None:
    if resolve(tracking_uri, settings).remote:
        raise InvalidArgument(
            "batch_predict needs an embedded store (a folder, SQLite or PostgreSQL URI) "
            f"today, like pipeline runs; {tracking_uri!r} is a server",
            field="tracking_uri",
        )


def link_model(tracking_uri: str | None, settings: Settings, model: Node, run_id: str) -> None:
    """Record that run ``run_id`` read the model node ``model``."""
    db = resolve(tracking_uri, settings).db
    assert db is not None  # check_embedded ran first
    db.run_write(add_edge, model, ("run", run_id), "input", CONTEXT)
