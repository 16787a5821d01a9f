"""``modelyard sync``: deliver run data spooled while the server was unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.config import Settings
from modelyard.errors import ModelyardError, Unavailable
from modelyard.platform.backends import resolve
from modelyard.terminal import fail, out
from modelyard.tracking.backends import tracking_parts
from modelyard.tracking.spool import Spool, spool_dirs


def _target_of(files: list[Path]) -> str | None:
    """The tracking URI the spool files of one folder were made for."""
    for path in files:
        try:
            return Spool.read(path)[0]
        except (FileNotFoundError, ValueError, KeyError, TypeError, ModelyardError):
            continue
    return None


def sync(
    spool_dir: Annotated[
        Path | None,
        typer.Option(
            help="Spool folder (default: MODELYARD_SPOOL_DIR or ~/.cache/modelyard/spool)."
        ),
    ] = None,
) -> None:
    """Send spooled batches to the servers they were meant for, oldest first."""
    settings = Settings.from_env()
    root = spool_dir or settings.spool_dir
    delivered = failed = 0
    pending = 0
    for folder in spool_dirs(root):
        files = [p for p in sorted(folder.glob("*.json")) if not p.name.startswith(".tmp-")]
        uri = _target_of(files)
        if uri is None:
            continue
        spool = Spool(root, uri)
        store = tracking_parts(resolve(uri, settings)).store
        try:
            n, rejected = spool.replay(store.apply)
        except Unavailable as exc:
            fail(f"{uri}: {exc.message}")
            pending += len(spool.files())
            continue
        delivered += n
        for path, message in rejected:
            failed += 1
            fail(f"{uri}: set aside {path}: {message}")
    out.print(
        f"delivered {delivered} spooled batch(es)"
        + (f", {failed} rejected" if failed else "")
        + (f", {pending} still waiting for their server" if pending else "")
    )
    if failed or pending:
        raise typer.Exit(1)
