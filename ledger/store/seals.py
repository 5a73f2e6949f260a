"""Seals: a keyed MAC of every event, written by the database in the same statement as the event row.

The hash chain (``ledger.projections.chain``) grows when a projection keeper next catches up, so an event row
edited before that (a 10.00 made 90.00 through SQL seconds after it was written) would be chained as if it had
always said so. Each SQLite connection of the store therefore has a function ``ledger_seal`` keyed with the
ledger's secret, and a trigger on the events table writes ``HMAC-SHA256(secret, originator|version|topic|state)``
into ``event_seals`` for every inserted row, inside the insert itself (a group commit's one multi-row statement
stays one atomic statement). A connection without the key (a ``sqlite3`` shell) cannot insert an event at all.
The chain links a row only when its seal matches, and ``audit verify`` checks the unchained tail against its
seals: rewriting an event and its seal needs the secret. Events written before seals existed have none and are
judged by the chain alone. A PostgreSQL store is sealed by its recorder, in Python, in the transaction that
inserts the events (``ledger.store.postgres_factory.SealingRecorder``), into the same two tables.

Where seals begin is recorded once, keyed, when the store first gets its seals (``seal_meta.sealed_from``, with
its MAC): deleting seal rows (no secret needed) then leaves rows that must be sealed and are not, a finding of
``audit verify``, instead of rows that "predate seals". A record that is missing or does not match its MAC
while the store has seals makes every row answer for its seal.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor

TABLE = "create table if not exists event_seals (notification_id integer primary key, seal text not null)"
META = "create table if not exists seal_meta (name text primary key, value integer not null, mac text not null)"
TRIGGER = ("create trigger if not exists seal_events after insert on {table} begin insert into event_seals "
           "values (new.rowid, ledger_seal(new.originator_id, new.originator_version, new.topic, new.state)); end")


def seal(key: bytes, originator_id: object, version: int, topic: str, state: bytes | str) -> str:
    """The MAC of one event row (the originator written as 32 hex digits, however the row holds it)."""
    mac = hmac.new(key, f"{UUID(str(originator_id)).hex}|{version}|{topic}|".encode(), hashlib.sha256)
    mac.update(state.encode() if isinstance(state, str) else bytes(state))
    return mac.hexdigest()


def install(connection: sqlite3.Connection, key: bytes) -> None:
    """Give ``connection`` the ``ledger_seal`` function the trigger calls."""
    connection.create_function("ledger_seal", 4, lambda o, v, t, s: seal(key, o, v, t, s), deterministic=True)


def marker(key: bytes, sealed_from: int) -> str:
    """The MAC of the record of the first sealed position."""
    return hmac.new(key, f"sealed_from|{sealed_from}".encode(), hashlib.sha256).hexdigest()


def create(connection: SQLiteCursor, table: str, key: bytes) -> None:
    """The seals table, the trigger on the events ``table`` and, when the store first gets them, the keyed
    record of the first position sealed (idempotent; never rewritten: a deleted record stays missing)."""
    connection.execute("select name from sqlite_master where type = 'table' and name in ('event_seals', "
                       "'seal_meta')")
    had = {str(row[0]) for row in connection.fetchall()}
    connection.execute(TABLE)
    connection.execute(TRIGGER.format(table=table))
    connection.execute(META)
    if "seal_meta" in had:
        return
    connection.execute(f"select coalesce((select min(notification_id) from event_seals), "
                       f"(select coalesce(max(rowid), 0) + 1 from {table}))")
    first = int(connection.fetchone()[0])
    connection.execute("insert or ignore into seal_meta values ('sealed_from', ?, ?)", (first, marker(key, first)))


class SealBook:
    """The seals of one SQLite store, read beside its events, and the check of a note against its seal
    (``ledger.store.postgres_factory.PostgresSealBook`` reads a PostgreSQL store's)."""

    def __init__(self, db_path: Path | str, key: bytes) -> None:
        self.key = key
        self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False, timeout=30)
        self.first = self._first()

    def _tables(self) -> set[str]:
        """Names of the store's tables."""
        return {str(row[0]) for row in self.db.execute("select name from sqlite_master where type = 'table'")}

    def _sealed_from(self) -> tuple[int, str] | None:
        """The stored record of the first sealed position and its MAC, if any."""
        row = self.db.execute("select value, mac from seal_meta where name = 'sealed_from'").fetchone()
        return (row[0], row[1]) if row is not None else None

    def _seal(self, position: int) -> str | None:
        """The stored seal of the event at ``position``, if any."""
        row = self.db.execute("select seal from event_seals where notification_id = ?", (position,)).fetchone()
        return str(row[0]) if row is not None else None

    def _first(self) -> int | None:
        """The first sealed position as recorded (1 when the record is missing or forged), or None for a store
        without seals."""
        tables = self._tables()
        if "event_seals" not in tables:
            return None  # a store from before seals: nothing sealed yet
        if "seal_meta" in tables:
            row = self._sealed_from()
            if row is not None and hmac.compare_digest(marker(self.key, int(row[0])), str(row[1])):
                return int(row[0])
        return 1

    def problem(self, note: Any) -> str | None:
        """Why ``note`` (a stored notification) does not match its seal, or None when it does or predates seals."""
        if self.first is None:
            self.first = self._first()
            if self.first is None:
                return None
        if note.id < self.first:
            return None
        stored = self._seal(note.id)
        if stored is None:
            return "event row not sealed (written without the ledger's key)"
        expected = seal(self.key, note.originator_id, note.originator_version, note.topic, note.state)
        return None if hmac.compare_digest(expected, stored) else "event row edited before it was chained"

    def close(self) -> None:
        """Close the file."""
        self.db.close()
