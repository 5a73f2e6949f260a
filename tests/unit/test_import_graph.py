"""The import graph of the source packages (issue 13): no import cycle, and the domain model
(``ledger/aggregates``) imports nothing that does I/O: only itself, msgspec, the ledger's error types and the
pure parts of the standard library (no files, sockets, processes, clock or randomness)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "workers", "replay")
#: What ``ledger/aggregates`` may import besides itself.
PURE = frozenset({"__future__", "abc", "collections", "copy", "dataclasses", "datetime", "decimal", "enum",
                  "functools", "hashlib", "hmac", "itertools", "math", "operator", "re", "typing", "uuid",
                  "msgspec", "ledger.errors"})


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of ``packages`` by its dotted name (a package by its own name)."""
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The dotted names ``path`` imports at any level (``from X import y`` naming module X.y counts as X.y)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in known else node.module


def cycles(known: dict[str, Path]) -> list[str]:
    """Each import cycle among ``known`` modules found by a depth-first walk, as ``a -> b -> a``."""
    edges = {name: sorted({i for i in imports(path, known) if i in known}) for name, path in known.items()}
    done: set[str] = set()
    path: list[str] = []
    found: list[str] = []

    def visit(name: str) -> None:
        path.append(name)
        for other in edges[name]:
            if other in path:
                found.append(" -> ".join([*path[path.index(other):], other]))
            elif other not in done:
                visit(other)
        path.pop()
        done.add(name)

    for name in sorted(edges):
        if name not in done:
            visit(name)
    return found


def impure(known: dict[str, Path], domain: str = "ledger.aggregates") -> set[str]:
    """``module imports name`` for each import of the ``domain`` package that is not in :data:`PURE`."""
    return {f"{name} imports {imported}"
            for name, path in known.items() if name == domain or name.startswith(f"{domain}.")
            for imported in imports(path, known)
            if not imported.startswith(domain) and imported not in PURE and imported.split(".")[0] not in PURE}


def test_no_import_cycle() -> None:
    assert cycles(modules(ROOT, PACKAGES)) == []


def test_the_domain_model_imports_nothing_that_does_io() -> None:
    assert impure(modules(ROOT, PACKAGES)) == set()


def test_the_checks_find_a_cycle_and_an_import_that_does_io(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "aggregates").mkdir(parents=True)
    (tmp_path / "pkg" / "aggregates" / "a.py").write_text("from pkg.aggregates import b\nimport sqlite3\n")
    (tmp_path / "pkg" / "aggregates" / "b.py").write_text("from pkg.aggregates.a import x\nimport hashlib\n")
    known = modules(tmp_path, ("pkg",))
    assert cycles(known) == ["pkg.aggregates.a -> pkg.aggregates.b -> pkg.aggregates.a"]
    assert impure(known, "pkg.aggregates") == {"pkg.aggregates.a imports sqlite3"}
