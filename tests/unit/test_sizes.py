"""No module in ``src/`` over 500 lines and no function over 80: a module holds one concept
and a function does one thing (``docs/architecture.md``). The message lists every offender."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "modelyard"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def test_no_module_is_over_500_lines() -> None:
    over = [
        f"{_name(p)}: {n} lines"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split by concern):\n" + "\n".join(
        over
    )


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - start + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{_name(path)}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_no_function_is_over_80_lines() -> None:
    over = [line for p in _modules() for line in _long_functions(p)]
    assert not over, (
        f"functions over {MAX_FUNCTION_LINES} lines (split into named helpers):\n" + "\n".join(over)
    )
