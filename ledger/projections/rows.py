"""A write-behind cache of one read-model table: handlers change rows in memory, a batch writes them at once.

An UPDATE per event costs several microseconds in SQLite; a rebuild changes the same invoice or payment many
times. Handlers therefore read and change rows here, and :meth:`Table.flush` upserts every changed row in one
``executemany`` before the batch commits (upserts keep rowids, so first-inserted order is kept). The cache
belongs to one projection instance: the runner drops it whenever the file moved on without it.
"""

from __future__ import annotations

import sqlite3
from typing import cast

from ledger.projections.base import SqlValue

Row = list[SqlValue]
#: A row's primary key.
Key = tuple[SqlValue, ...]


class Table:
    """Rows of ``name`` by primary key, loaded on first use and written back on :meth:`flush`."""

    #: Clean rows kept between batches (per table); beyond that the cache starts afresh.
    keep = 50_000

    def __init__(self, name: str, columns: tuple[str, ...], key: tuple[str, ...]) -> None:
        self.name = name
        self.columns = columns
        self.position = {column: i for i, column in enumerate(columns)}
        self.rows: dict[Key, Row | None] = {}
        self.dirty: dict[Key, None] = {}  # insertion-ordered: new rows get rowids in log order
        where = " and ".join(f"{k} = ?" for k in key)
        self._select = f"select {', '.join(columns)} from {name} where {where}"
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        self._upsert = (f"insert into {name} ({', '.join(columns)}) values ({', '.join('?' * len(columns))}) "
                        f"on conflict ({', '.join(key)}) do update set {updates}")

    def get(self, db: sqlite3.Connection, key: Key) -> Row | None:
        """The row with primary key ``key`` (None when there is none); changing it requires :meth:`touch`."""
        try:
            return self.rows[key]
        except KeyError:
            found = db.execute(self._select, key).fetchone()
            row = self.rows[key] = None if found is None else list(found)
            return row

    def insert(self, key: Key, **values: SqlValue) -> None:
        """A new row (columns not given are NULL; the table's SQL defaults do not apply here)."""
        row: Row = [None] * len(self.columns)
        for column, value in values.items():
            row[self.position[column]] = value
        self.rows[key] = row
        self.dirty[key] = None

    def update(self, db: sqlite3.Connection, key: Key, **values: SqlValue) -> None:
        """Set columns of an existing row; like SQL ``UPDATE``, a missing row is left missing."""
        row = self.get(db, key)
        if row is not None:
            for column, value in values.items():
                row[self.position[column]] = value
            self.dirty[key] = None

    def add(self, db: sqlite3.Connection, key: Key, **deltas: int) -> None:
        """Add to integer columns of an existing row."""
        row = self.get(db, key)
        if row is not None:
            for column, delta in deltas.items():
                at = self.position[column]
                row[at] = cast(int, row[at]) + delta
            self.dirty[key] = None

    def touch(self, key: Key) -> None:
        """Mark a row obtained by :meth:`get` and changed in place."""
        self.dirty[key] = None

    def flush(self, db: sqlite3.Connection) -> None:
        """Write every changed row; forget clean rows when the cache outgrows ``keep``."""
        rows = self.rows
        db.executemany(self._upsert, [row for key in self.dirty if (row := rows[key]) is not None])
        self.dirty.clear()
        if len(rows) > self.keep:
            rows.clear()
