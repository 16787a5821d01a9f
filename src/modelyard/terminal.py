"""Terminal output shared by every domain's CLI commands: tables, JSON, progress bars.

Rich renders for people; ``--json`` output is plain JSON on stdout for scripts. Errors go to
stderr, never stdout, so a pipe never receives half a table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

out = Console()
err = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode())
    sys.stdout.write("\n")


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    out.print(table)


def fail(message: str) -> None:
    """An error on stderr: the message as written (brackets in it are not markup) and not
    folded at the terminal's width, so a log keeps it on one line."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def _bar(description: str, total: int | None, *columns: Any) -> Iterator[Any]:
    """A progress bar on stderr with these columns; yields ``advance(n)``. Silent when
    stderr is not a terminal."""
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def transfer_progress(description: str, total: int | None) -> Any:
    """A byte progress bar; yields ``advance(nbytes)``."""
    return _bar(description, total, DownloadColumn(), TransferSpeedColumn())


def count_progress(description: str, total: int | None) -> Any:
    """A progress bar over a count (rows, files); yields ``advance(n)``."""
    return _bar(description, total, MofNCompleteColumn(), TimeElapsedColumn())


def when(ms: int | None) -> str:
    """Epoch milliseconds as a person reads them, in UTC; blank for none."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
