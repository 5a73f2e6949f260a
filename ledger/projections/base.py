"""What a projection is: a named read model in its own SQLite file, built by one handler per event type.

A projection never calls another and never writes events; it can be dropped and rebuilt from the log at any
time. Its position in the log is written in the same transaction as the rows a batch changed.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar, NamedTuple

from ledger.aggregates import events as ev


class Meta(NamedTuple):
    """Facts about one event computed once per batch and shared by every projection."""

    position: int
    account: str
    event_id: str
    at: str


def meta_of(position: int, event: ev.Event) -> Meta:
    """The shared facts of ``event`` at ``position``."""
    return Meta(position, str(event.originator_id), event.event_id, event.timestamp.isoformat())


class Projection:
    """Base of every read model: ``schema`` creates its tables, ``apply`` handles one event."""

    #: File and table-set name, e.g. ``balances`` -> ``var/projections/balances.db``.
    name: ClassVar[str] = ""
    #: Raise when the schema or the meaning of rows changes; a stored projection of another version is stale.
    version: ClassVar[int] = 1
    #: SQL statements creating the projection's tables and indexes.
    tables: ClassVar[tuple[str, ...]] = ()
    #: The file position this instance's in-memory caches reflect (-1: none yet); the runner resets the
    #: caches when the file is found elsewhere (another process or runner applied events meanwhile).
    synced_at: int = -1

    def schema(self, db: sqlite3.Connection, *, indexes: bool = True) -> None:
        """Create the projection's tables (idempotent); a rebuild creates secondary indexes only at the end."""
        for statement in self.tables:
            if indexes or not statement.lstrip().startswith("create index"):
                db.execute(statement)

    def apply(self, event: Any, db: sqlite3.Connection, meta: Meta) -> None:
        """Apply one event (subclasses dispatch on its type; events they don't show are ignored)."""
        raise NotImplementedError

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Called once per batch before commit (for projections that buffer)."""

    def reset(self) -> None:
        """Forget in-memory caches (after a rolled-back batch they would be ahead of the file; after another
        runner wrote to the file, behind it)."""
        fresh = type(self)()
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)

