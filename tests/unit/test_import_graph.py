"""The import graph of ledger/, workers/ and replay/, read from the source (every import, a function's own
included): no module imports itself back through others, and the domain (ledger/aggregates) reaches nothing
that does I/O, keeps time or draws randomness: only pure standard-library modules, msgspec, eventsourcing's domain
module and ledger's own pure modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "workers", "replay")

#: What the domain may import from outside ledger/: computation only (no files, sockets, clock, randomness).
PURE_OUTSIDE = frozenset({
    "__future__", "abc", "bisect", "collections", "collections.abc", "copy", "dataclasses", "datetime", "decimal",
    "enum", "functools", "hashlib", "heapq", "hmac", "itertools", "math", "operator", "re", "string", "types",
    "typing", "unicodedata", "uuid", "msgspec", "eventsourcing.domain",
})


def modules() -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by the name of its ``__init__``)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules ``name`` imports anywhere in its source: the module itself where it is one of ours
    (``from ledger.cli import accounts`` is ``ledger.cli.accounts``), else the name as written."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def graph() -> dict[str, set[str]]:
    """Each of our modules and the modules it imports (ours and others)."""
    known = modules()
    return {name: set(imported(name, path, known)) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module, or of one importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    """The graph, read once for this module's tests (each read parses every source file)."""
    return graph()


def test_the_graph_is_read_from_every_import(edges: dict[str, set[str]]) -> None:
    assert "ledger.cli.main" in edges["ledger.cli.ops"]  # from ledger.cli.main import ...
    assert "workers.relay" in edges["ledger.cli.ops"]  # inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}) == [["a", "b", "c"], ["d"]]


def test_no_import_cycle(edges: dict[str, set[str]]) -> None:
    assert cycles(edges) == []


def test_the_domain_reaches_nothing_that_does_io(edges: dict[str, set[str]]) -> None:
    reached, todo, impure = set(), [n for n in edges if n.startswith("ledger.aggregates")], []
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for target in edges[name]:
            if target in edges:
                todo.append(target)
            elif target.split(".")[0] in PACKAGES:
                impure.append(f"{name} -> {target} (not a module)")
            elif target not in PURE_OUTSIDE:
                impure.append(f"{name} -> {target}")
    assert reached >= {"ledger.aggregates", "ledger.errors"}
    assert impure == [], impure
