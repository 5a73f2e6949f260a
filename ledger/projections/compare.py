"""Comparing two builds of a projection table by table, in SQLite's own order, without loading them in memory.

``audit verify`` rebuilds every projection from the log into a scratch file and compares it with the serving
one; a difference is reported with its table and the first row that differs, so an operator can find it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import zip_longest

import msgspec

from ledger.projections.base import SqlValue
from ledger.projections.schema import data_tables


class TableDiff(msgspec.Struct, frozen=True):
    """One table whose rows differ between the expected (rebuilt) and the actual (stored) build."""

    table: str
    expected: list[SqlValue] | None
    actual: list[SqlValue] | None

    def describe(self) -> str:
        """``accounts.invoices differs from a rebuild: ... (rebuilt) vs ... (stored)``."""
        return f"{self.table} differs from a rebuild: {self.expected} (rebuilt) vs {self.actual} (stored)"


def tables(db: sqlite3.Connection) -> list[str]:
    """The projection's tables (views are derived from them, full-text indexes from their rows; the position
    table is compared apart)."""
    return data_tables(db)


def _sorted_rows(db: sqlite3.Connection, table: str) -> Iterator[tuple[SqlValue, ...]]:
    """Rows in primary-key order (an index walk), or sorted by every column when the table has no key."""
    info = db.execute(f"pragma table_info({table})").fetchall()
    key = [str(r[1]) for r in sorted(info, key=lambda r: r[5]) if r[5]]
    order = ", ".join(key) if key else ", ".join(str(n) for n in range(1, len(info) + 1))
    yield from db.execute(f"select * from {table} order by {order}")


def differences(expected: sqlite3.Connection, actual: sqlite3.Connection, prefix: str) -> Iterator[TableDiff]:
    """Every table whose rows differ, with the first differing row of each (``None`` where one side ended).

    Sorts spill to temporary files rather than memory: a journal of millions of postings is compared in a
    few megabytes.
    """
    for db in (expected, actual):
        db.execute("pragma temp_store = file")
    names = sorted(set(tables(expected)) | set(tables(actual)))
    for name in names:
        if name not in tables(expected) or name not in tables(actual):
            yield TableDiff(f"{prefix}.{name}", None, None)
            continue
        for want, got in zip_longest(_sorted_rows(expected, name), _sorted_rows(actual, name)):
            if want is None or got is None or tuple(want) != tuple(got):
                yield TableDiff(f"{prefix}.{name}", None if want is None else list(want),
                                None if got is None else list(got))
                break
