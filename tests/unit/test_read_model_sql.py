"""SQL against the read models is written in ``ledger/projections/`` (``queries.py``, ``audit_queries.py``; the
projections write them): the workers, the CLI, the NATS API and the replays call their functions, so a change of a read
model's tables is a change of one module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Where read models are only read, through queries; the workers' inbox is their own store, not a read model.
READERS = ("workers", "replay", "ledger/cli", "ledger/service", "ledger/nats_api")
OWN_STORES = {"workers/inbox.py"}
SQL = re.compile(r"^\s*(select\s.*\bfrom\s|insert\s+into\s|update\s+\w+\s+set\s|delete\s+from\s)",
                 re.IGNORECASE | re.DOTALL)


def sql_outside_queries() -> list[str]:
    found = []
    for folder in READERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where in OWN_STORES:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                    found.append(f"{where}:{node.lineno}: {node.value[:60]}")
    return found


def test_read_model_sql_is_only_in_queries() -> None:
    assert sql_outside_queries() == []


def test_the_check_sees_sql() -> None:
    assert SQL.match("select account_id from accounts") and SQL.match("  DELETE FROM x where 1")
    assert SQL.match("select max(at)\nfrom audit_log") and SQL.match("update balances set balance = 0")
    assert not SQL.match("Select the method to delete") and not SQL.match("selected from the list")
