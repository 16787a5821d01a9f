"""No module of modelyard imports itself back, however far round and wherever the import sits.

grimp counts every import, function-local ones too, so a circle hidden by moving an import into a
function still fails here. The circles are the strongly connected components of the module graph
(Tarjan); each is shown as one shortest circle through it, with the file and line of each step.
"""

from __future__ import annotations

import itertools
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's components of more than one module, or one module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def edges(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module))

    for root in sorted(graph.modules):
        if root in index:
            continue
        # iterative, so a deep package cannot hit the recursion limit
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            targets = edges(module)
            if position < len(targets):
                work.append((module, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or module in edges(module):
                    found.append(sorted(component))
    return sorted(found)


def shortest_circle(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """The shortest path from the component's first module back to itself, inside it."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if target == start:
                chain = [module]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return [*reversed(chain), start]
            if target in members and target not in came_from:
                came_from[target] = module
                queue.append(target)
    raise AssertionError(f"{start} is in a component but has no way back")  # pragma: no cover


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    circle = shortest_circle(graph, component)
    lines = [f"{len(component)} modules: {', '.join(component)}"]
    for importer, imported in itertools.pairwise(circle):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents']}" for d in details)
        lines.append(f"  {importer} -> {imported}  ({where})")
    return "\n".join(lines)


def find_cycles(package: str) -> list[str]:
    graph = grimp.build_graph(package, cache_dir=None)
    return [describe(graph, component) for component in strongly_connected(graph)]


def test_modelyard_has_no_import_cycle() -> None:
    cycles = find_cycles("modelyard")
    assert not cycles, "import cycles (move what both sides need below both):\n" + "\n".join(cycles)


@pytest.fixture
def tiny_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    root = tmp_path / "tinypkg"
    (root / "inner").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "inner" / "__init__.py").write_text("")
    (root / "a.py").write_text("from tinypkg import b\n")
    (root / "b.py").write_text("def later():\n    from tinypkg.inner import c\n")
    (root / "inner" / "c.py").write_text("import tinypkg.a\n")
    (root / "leaf.py").write_text("from tinypkg import a\n")
    (root / "selfish.py").write_text("def me():\n    from tinypkg import selfish\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tinypkg"
    for name in [m for m in sys.modules if m == "tinypkg" or m.startswith("tinypkg.")]:
        del sys.modules[name]


def test_the_check_finds_a_cycle_hidden_in_a_function(tiny_package: str) -> None:
    cycles = find_cycles(tiny_package)
    assert len(cycles) == 2
    three, selfish = cycles
    assert three.startswith("3 modules: tinypkg.a, tinypkg.b, tinypkg.inner.c")
    assert "tinypkg.b -> tinypkg.inner.c  (line 2: from tinypkg.inner import c)" in three
    assert "tinypkg.leaf" not in three
    assert selfish.startswith("1 modules: tinypkg.selfish")
