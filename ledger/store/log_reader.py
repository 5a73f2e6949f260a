"""Read the notification log in order, safely, on SQLite and on PostgreSQL: :class:`CommittedLog`.

A follower (projection, relay, hash chain) remembers the last position it handled and asks for what comes
after it. That is only correct if no notification with a lower id can become visible *after* a higher one was
read. The two backends differ:

**SQLite** has one writer at a time; a notification id is the row id, taken inside the write transaction, and
readers see transactions whole and in commit order, which is id order. A rolled-back insert leaves no gap
(its row ids are taken again). Reading ``id > position`` is exact.

**PostgreSQL** takes ids from a sequence when a row is inserted, and the transaction commits later: ids can
become visible out of order (``T1`` takes 10, ``T2`` takes 11 and commits, ``T1`` commits after a reader saw
11), and a rolled-back transaction leaves a permanent gap. eventsourcing serialises its own inserts with
``LOCK TABLE ... IN EXCLUSIVE MODE`` so that in practice only gaps occur, but a reader should not bet its
correctness on every writer taking that lock. The technique here works without it:

1. Each read is one statement, so one snapshot. Rows are delivered up to the first *gap* (a missing id that
   is neither delivered nor known to be a hole); rows after it wait.
2. Every transaction that inserts into the events table holds a ``RowExclusiveLock`` on it from before its
   insert takes an id until it ends. On seeing a gap, the reader records the virtual transaction ids holding
   a write lock on the table (``pg_locks``, readable by any role) and returns what it can.
3. On a later read, once every one of those transactions has ended, whatever took a missing id below the
   highest id seen has either committed (a fresh snapshot now shows it) or rolled back. The reader reads that
   range again and records the ids still missing as permanent holes; reading resumes through them.

A follower therefore never skips a notification that can still commit, never delivers one twice, and waits
only while a transaction that was writing when the gap was seen is still open (usually one poll).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast
from uuid import UUID

from ledger.aggregates.events.base import Event
from ledger.store.mapper import decode_event, plain_state

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    from ledger.store.application import LedgerStore


class Note(NamedTuple):
    """One stored notification as the store holds it (the same fields as the projection runner's RawNote)."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class RawLog(Protocol):
    """A backend's reader: committed notifications after a position, in id order."""

    def read_raw(self, after: int, limit: int) -> list[Note]:
        """Up to ``limit`` notifications after ``after``; never passes one that may still commit."""
        ...

    def head(self) -> int:
        """The highest notification id written so far (for lag; may be ahead of what is readable)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class SQLiteLog:
    """SQLite: ``id > after`` is exact. Reads the table through a read-only connection when the store is a
    file without cipher or compression (several times faster than building the library's objects)."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._direct: sqlite3.Connection | None = None
        recorder = cast("SQLiteApplicationRecorder", store.recorder)
        db_name = getattr(getattr(getattr(recorder, "datastore", None), "pool", None), "db_name", None)
        if db_name and ":memory:" not in db_name and "mode=memory" not in db_name:
            self._direct = sqlite3.connect(f"file:{db_name}?mode=ro", uri=True, check_same_thread=False,
                                           timeout=30)
        self._table = recorder.events_table_name
        self._lock = threading.Lock()

    def read_raw(self, after: int, limit: int) -> list[Note]:
        if self._direct is None:
            notes = self.store.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
            return [Note(n.id, _uuid(n.originator_id), n.originator_version, n.topic, bytes(n.state)) for n in notes]
        with self._lock:
            # state as a BLOB: a row edited into TEXT (even invalid UTF-8) is read as its bytes, for the chain
            rows = self._direct.execute(f"SELECT rowid, originator_id, originator_version, topic, "
                                        f"CAST(state AS BLOB) FROM {self._table} WHERE rowid > ? ORDER BY rowid "
                                        f"LIMIT ?",
                                        (after, limit)).fetchall()
        return [Note(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def head(self) -> int:
        return int(self.store.recorder.max_notification_id() or 0)

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
            self._direct = None


class _Wait(NamedTuple):
    start: int  # the first missing id
    seen: int  # the highest id visible when the gap was seen
    writers: frozenset[str]  # virtual transaction ids writing to the table then


class PostgresLog:
    """PostgreSQL: reads stop at a gap until the transactions that could fill it have ended (module docstring)."""

    def __init__(self, store: LedgerStore) -> None:
        from psycopg.sql import SQL, Identifier

        self.store = store
        recorder = cast("PostgresApplicationRecorder", store.recorder)
        self.datastore = recorder.datastore
        table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(recorder.events_table_name))
        self._select = SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
                           "WHERE notification_id > %s AND notification_id <= %s "
                           "ORDER BY notification_id LIMIT %s").format(table)
        self._max = SQL("SELECT max(notification_id) AS head FROM {}").format(table)
        self._writers = SQL("SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks WHERE locktype = 'relation' "
                            "AND relation = %s::regclass AND granted AND mode <> 'AccessShareLock' "
                            "AND pid <> pg_backend_pid()")
        self._relation = f'"{self.datastore.schema}"."{recorder.events_table_name}"'
        self.holes: set[int] = set()
        self._wait: _Wait | None = None
        self._lock = threading.Lock()

    def read_raw(self, after: int, limit: int) -> list[Note]:
        with self._lock:
            self.holes = {h for h in self.holes if h > after}
            for _ in range(2):  # a gap settled now is read through at once
                notes, gap, seen = self._contiguous(after, limit)
                if gap is None or notes or not self._settled(gap, seen):
                    return notes
            return notes

    def _contiguous(self, after: int, limit: int) -> tuple[list[Note], int | None, int]:
        """The gap-free run after ``after``, the first unexplained missing id (or None), the highest id seen."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._select, (after, 2**62, limit)).fetchall()
        notes: list[Note] = []
        expected = after + 1
        for row in rows:
            position = row["notification_id"]
            while expected < position and expected in self.holes:
                expected += 1
            if position != expected:
                return notes, expected, rows[-1]["notification_id"]
            notes.append(Note(position, row["originator_id"], row["originator_version"], row["topic"],
                              bytes(row["state"])))
            expected = position + 1
        return notes, None, expected - 1

    def _settled(self, start: int, seen: int) -> bool:
        """Whether every id missing in ``start..seen`` is now known: filled (visible) or a permanent hole."""
        with self.datastore.get_connection() as conn:
            writers = frozenset(r["vxid"] for r in conn.execute(self._writers, (self._relation,)).fetchall())
            if self._wait is None or self._wait.start != start:
                self._wait = _Wait(start, seen, writers)
            if self._wait.writers & writers:
                return False
            seen = self._wait.seen
            visible = {r["notification_id"] for r in conn.execute(self._select, (start - 1, seen, seen - start + 1))}
        self.holes |= set(range(start, seen + 1)) - visible
        self._wait = None
        return True

    def head(self) -> int:
        with self.datastore.get_connection() as conn:
            row = conn.execute(self._max).fetchone()
        return int(row["head"] or 0) if row else 0

    def close(self) -> None:
        """Connections belong to the store's pool."""


class CommittedLog:
    """The store's notification log for followers: ``read_raw`` / ``read`` / ``head`` / ``follow``.

    Drop-in for the projection runner's ``StoreLog`` (same methods); keeps per-instance state about gaps on
    PostgreSQL, so use one instance per follower.
    """

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.backend: RawLog = PostgresLog(store) if _is_postgres(store) else SQLiteLog(store)

    def read_raw(self, after: int, limit: int) -> list[Note]:
        """Up to ``limit`` committed notifications after ``after``, in id order, as stored."""
        return self.backend.read_raw(after, limit)

    def read(self, after: int, limit: int) -> list[tuple[int, Event]]:
        """The same, decoded: ``(position, domain event)`` pairs."""
        mapper = self.store.mapper
        return [(n.id, decode_event(n.topic, plain_state(mapper, n.state))) for n in self.read_raw(after, limit)]

    def head(self) -> int:
        """The newest notification id written (lag = head - position)."""
        return self.backend.head()

    def follow(self, after: int = 0, *, batch: int = 1000, poll: float = 0.05,
               stop: threading.Event | None = None) -> Iterator[Note]:
        """Every committed notification after ``after``, forever (until ``stop`` is set), polling when idle."""
        while stop is None or not stop.is_set():
            notes = self.read_raw(after, batch)
            if not notes:
                if stop is not None:
                    stop.wait(poll)
                else:
                    time.sleep(poll)
                continue
            yield from notes
            after = notes[-1].id

    def close(self) -> None:
        """Release the reader's own connections."""
        self.backend.close()


def _is_postgres(store: LedgerStore) -> bool:
    return any(cls.__module__ == "eventsourcing.postgres" for cls in type(store.recorder).__mro__)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
