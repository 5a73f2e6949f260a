"""The shape issue 13 left the code in, kept so: no module of ledger/, workers/, replay/ or bench/ over 300 lines, no
command handler over 30, and ``Any`` (as the issue counted it: every word ``Any`` in ledger/, workers/ and
replay/) at most a third of the 351 it started from. A change that needs more says why by changing a limit here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE_LINES, HANDLER_LINES, ANY_WORDS = 300, 30, 351 // 3


def sources(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def test_no_module_is_over_300_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in sources("ledger", "workers", "replay", "bench")
            if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert long == {}


def test_no_command_handler_is_over_30_lines() -> None:
    long = {}
    for path in sources("ledger/commands/handlers"):
        for node in ast.parse(path.read_text()).body:
            lines = (node.end_lineno or node.lineno) - node.lineno + 1 if isinstance(node, ast.FunctionDef) else 0
            if lines > HANDLER_LINES:
                long[f"{path.name}:{getattr(node, 'name', '')}"] = lines
    assert long == {}


def test_any_is_at_most_a_third_of_what_it_was() -> None:
    words = sum(len(re.findall(r"\bAny\b", path.read_text())) for path in sources("ledger", "workers", "replay"))
    assert words <= ANY_WORDS, f"{words} Any in ledger/, workers/, replay/ (at most {ANY_WORDS})"
