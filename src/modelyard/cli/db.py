"""``modelyard db ...``: schema migrations of the metadata store."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.config import Settings
from modelyard.platform.backends import sql_locations
from modelyard.store.database import Database
from modelyard.store.migrate import current_revision, head_revision, upgrade
from modelyard.terminal import out

app = typer.Typer(help="The metadata database.", no_args_is_help=True)

Store = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="MODELYARD_TRACKING_URI",
        help="folder, sqlite:///file.db or postgresql...",
    ),
]


def _db(store: str | None) -> Database:
    return Database(sql_locations(store, Settings.from_env().artifacts_uri).db_url)


@app.command("upgrade")
def upgrade_(store: Store = None) -> None:
    """Apply pending migrations (they also run automatically on first use)."""
    db = _db(store)
    before = current_revision(db)
    upgrade(db)
    out.print(f"schema at {current_revision(db)} (was {before or 'empty'})")


@app.command()
def current(store: Store = None) -> None:
    """Show the schema revision of the store and the newest one this version knows."""
    db = _db(store)
    out.print(f"store: {current_revision(db) or 'empty'}; newest: {head_revision()}")
