"""Sealed artifact folders: once a registered version is made from a run's folder, no file
under it is written again, so what the registry verified is what every later load reads.

The seal is a row per (run, folder). An upload checks it before the file is written (so a
sealed file is never overwritten) and the catalog statement checks it again in the same
statement that records the file (so an upload racing the registration is undone).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import Conflict
from modelyard.tracking.tables import run_artifact_seals


def covering(run_id: Any, path: Any) -> Any:
    """EXISTS a seal of ``run_id`` on ``path`` itself or on a folder above it."""
    s = run_artifact_seals.c
    return sa.exists().where(
        s.run_uuid == run_id,
        sa.or_(
            s.prefix == path,
            sa.func.substr(path, 1, sa.func.length(s.prefix) + 1) == s.prefix.concat("/"),
        ),
    )


def sealing_folder(conn: Connection, run_id: str, path: str) -> str | None:
    """The sealed folder that holds ``path`` (or is it), if any."""
    s = run_artifact_seals.c
    for (prefix,) in conn.execute(sa.select(s.prefix).where(s.run_uuid == run_id)):
        if path == prefix or path.startswith(prefix + "/"):
            return str(prefix)
    return None


def refuse_sealed(conn: Connection, run_id: str, path: str) -> None:
    folder = sealing_folder(conn, run_id, path)
    if folder is not None:
        raise Conflict(
            f"run {run_id} artifact {path!r} is inside {folder!r}, a folder a registered model "
            "version was made from; its files never change. Log to another path",
            field="path",
        )


def seal(conn: Connection, run_id: str, prefix: str, *, actor: str, time_ms: int) -> None:
    """Seal ``prefix`` of ``run_id`` (a second seal of the same folder is a no-op)."""
    s = run_artifact_seals.c
    found = conn.execute(
        sa.select(s.prefix).where(s.run_uuid == run_id, s.prefix == prefix)
    ).first()
    if found is None:
        conn.execute(
            run_artifact_seals.insert().values(
                run_uuid=run_id, prefix=prefix, sealed_by=actor, created_time=time_ms
            )
        )
