"""Every ``modelyard ...`` command the README and docs/ show exists, with the flags it uses.

A command line in a shell block (```bash, ```sh, ```console or a plain ```) is parsed by
the real command line's parser, as the shell would pass it, without running it: the
subcommands must exist, every flag must be one the command takes, given a value of its type,
and the arguments must be as many as it takes. The doc's shorthand is read as a person
would: ``<run-id>`` is one argument, ``[--limit 1000]`` an optional part (checked as if
given), a ``#`` starts a comment and ``|`` a shell pipe. A ``modelyard ...`` in running
text (an inline code span) may leave arguments out; its subcommands and flags are checked.
Any other ``--flag`` the pages name (in prose, or a comment such as ``# or --attach``) must
be a flag of some modelyard command, unless it is in another program's command line
(``pip install --no-index ...``).
"""

from __future__ import annotations

import re
import shlex

import pytest
import typer
import typer.core
import typer.main
from tests.fixtures import docs

from modelyard.cli.main import app

COMMAND_LINE = typer.main.get_command(app)

SHELL = ("bash", "sh", "shell", "console", "")
PLACEHOLDER = re.compile(r"<[^>]*>")
OPTIONAL = re.compile(r"\[(-[^\]]*)\]")
INLINE = re.compile(r"`(modelyard [^`]+)`")
LONG_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# another program's command line, in a code span or a line of a block: its flags are its own
OTHER_PROGRAM = re.compile(
    r"`(?:pip|python|docker|kubectl|curl|make) [^`]*`|^(?:pip|python|docker|kubectl|curl|make) .*$",
    re.M,
)


def _argv(line: str) -> list[str]:
    line = OPTIONAL.sub(r"\1", PLACEHOLDER.sub("X", line))
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    words = list(lexer)
    if "|" in words:
        words = words[: words.index("|")]
    assert words[0] == "modelyard"
    return words[1:]


def _shell_lines() -> list[tuple[str, str]]:
    found = []
    for block in docs.blocks(*SHELL):
        for i, line in enumerate(block.code.replace("\\\n", " ").splitlines()):
            line = line.strip().removeprefix("$ ")
            if line.startswith("modelyard "):
                found.append((f"{block.where}+{i + 1}", line))
    return found


def _inline_spans() -> list[tuple[str, str]]:
    found = []
    for page in docs.PAGES:
        text = docs.FENCE.sub("", page.read_text())
        for match in INLINE.finditer(text):
            span = " ".join(match.group(1).split())
            if "..." not in span:
                found.append((page.name, span))
    return sorted(set(found))


def parse(argv: list[str], *, complete: bool) -> None:
    """Parse ``modelyard ARGV`` without running it; raises the command line's usage error
    (a ``typer.TyperException``) when it does not fit, and, unless ``complete``, lets a
    missing argument pass."""
    command = COMMAND_LINE
    path = ["modelyard"]
    args = list(argv)
    while isinstance(command, typer.core.TyperGroup):
        if not args or args[0] not in command.commands:
            raise typer.TyperException(f"{' '.join(path)} has no command {args[:1]}")
        path.append(args.pop(0))
        command = command.commands[path[-1]]
    try:
        command.make_context(" ".join(path), args)
    except typer.BadParameter as err:  # typer's copy of click's MissingParameter is one
        if complete or type(err).__name__ != "MissingParameter":
            raise


SHELL_LINES = _shell_lines()
INLINE_SPANS = _inline_spans()


@pytest.mark.parametrize(("where", "line"), SHELL_LINES, ids=[w for w, _ in SHELL_LINES])
def test_shell_example_fits_the_command_line(where: str, line: str) -> None:
    try:
        parse(_argv(line), complete=True)
    except typer.TyperException as err:
        pytest.fail(f"{where}: {line}\n{err.format_message()}")


@pytest.mark.parametrize(("where", "span"), INLINE_SPANS, ids=[s for _, s in INLINE_SPANS])
def test_command_in_the_text_exists(where: str, span: str) -> None:
    try:
        parse(_argv(span), complete=False)
    except typer.TyperException as err:
        pytest.fail(f"{where}: `{span}`\n{err.format_message()}")


def _all_flags(command: object) -> set[str]:
    flags = set()
    for param in getattr(command, "params", []):
        flags.update(param.opts, getattr(param, "secondary_opts", []))
    if isinstance(command, typer.core.TyperGroup):
        for sub in command.commands.values():
            flags |= _all_flags(sub)
    return flags


def test_every_flag_the_pages_name_exists() -> None:
    flags = _all_flags(COMMAND_LINE)
    assert {"--json", "--limit", "--attach", "--no-prediction-log"} <= flags
    named = {
        (page.name, m.group())
        for page in docs.PAGES
        for m in LONG_FLAG.finditer(OTHER_PROGRAM.sub("", page.read_text()))
    }
    assert len(named) >= 50
    assert sorted((page, flag) for page, flag in named if flag not in flags) == []


def test_the_parser_refuses_what_the_command_line_does_not_take() -> None:
    parse(["runs", "list", "-e", "churn", "--json"], complete=True)
    for argv in (
        ["runs", "lst"],
        ["runs", "list", "--no-such-flag"],
        ["datasets", "list", "--limit", "many"],
        ["models", "alias", "churn", "champion", "3", "extra"],
    ):
        with pytest.raises(typer.TyperException):
            parse(argv, complete=True)
    with pytest.raises(typer.TyperException):
        parse(["serve", "--no-such-flag"], complete=False)
    parse(["datasets", "validate"], complete=False)  # running text may leave arguments out
    with pytest.raises(typer.TyperException):
        parse(["datasets", "validate"], complete=True)


def test_there_are_commands_to_check() -> None:
    assert len(SHELL_LINES) >= 60
    assert len(INLINE_SPANS) >= 10
