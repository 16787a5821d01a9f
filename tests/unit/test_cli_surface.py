"""The command line reads as a person would write it: every flag's spelling, every help text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.core
import typer.main

from modelyard.cli.main import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, group
    # typer's commands are its own copy of click's, not click.Group
    if isinstance(group, typer.core.TyperGroup):
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_command_is_visited() -> None:
    paths = {" ".join(path) for path, _ in _commands(typer.main.get_command(app))}
    assert {"runs list", "models webhooks add", "monitors run", "serve"} <= paths


def test_no_flag_reads_no_no() -> None:
    bad = []
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            for flag in [*param.opts, *getattr(param, "secondary_opts", [])]:
                if flag.startswith("--no-no-") or flag.count("no-") > 1:
                    bad.append((" ".join(path), flag))
    assert not bad


def test_help_promises_nothing_for_later() -> None:
    for path, command in _commands(typer.main.get_command(app)):
        text = " ".join(filter(None, [command.help, command.short_help]))
        for param in command.params:
            text += " " + (getattr(param, "help", None) or "")
        for word in ("(soon)", "coming soon", "not yet implemented", "TODO"):
            assert word not in text, (" ".join(path), word)


def test_each_command_summary_is_one_line() -> None:
    for path, command in _commands(typer.main.get_command(app)):
        if command.help:
            first = command.help.strip().split("\n\n")[0]
            assert "\n" not in first.strip(), (" ".join(path), first)
