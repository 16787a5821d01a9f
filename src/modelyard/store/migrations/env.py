"""Alembic environment: always runs on a connection handed in by ``modelyard.store.migrate``."""

from __future__ import annotations

from alembic import context

from modelyard.store.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `modelyard db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
context.run_migrations()
