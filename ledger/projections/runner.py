"""The projection runner: polls the notification log in batches, applies them, resumes where it stopped.

eventsourcing's SQLite store has no subscriptions, so projections poll ``select_notifications``. Each batch
(thousands of events) and the new position are written in ONE SQLite transaction: a crash loses nothing and
repeats nothing; the position is read again under the write lock, so several runners (the service's follower,
read commands, other processes) can share a file. Rebuilds into new files: ``ledger.projections.rebuild``.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol
from uuid import UUID

import msgspec
import structlog

from ledger.aggregates.events.base import Event
from ledger.projections.base import Handler, Meta, MetaMaker, Projection, SqlValue
from ledger.projections.schema import data_tables
from ledger.store.log_reader import CommittedLog, Note
from ledger.store.mapper import decode_event

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.projections")

POSITION_TABLE = """create table if not exists _position (
    name text primary key, position integer not null, version integer not null, updated_at real not null)"""


class EventLog(Protocol):
    """An ordered history: (position, event) pairs after a position.

    A projection records the position of the last event it applied, and the log promises that no event with
    a smaller position can appear later. SQLite (one writer, ids in commit order) and eventsourcing's
    PostgreSQL recorder (inserts serialised by a table lock) keep that promise with gaps at most; a log whose
    writers could commit ids out of order must hold back events above a not-yet-committed id before
    returning them (e.g. stop at the first gap younger than a few seconds), rather than the runner tracking
    sets of seen ids.
    """

    def read(self, after: int, limit: int) -> Sequence[tuple[int, Event]]:
        """Up to ``limit`` events with a position greater than ``after``, in order."""
        ...

    def head(self) -> int:
        """The position of the newest event (0 when empty)."""
        ...


class RawNote(NamedTuple):
    """One stored event as the store holds it."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class FileLog:
    """The events table of an SQLite event store file, read directly (no cipher, no compression).

    Several times faster than building the library's Notification objects, and openable from another process
    by its path alone (parallel rebuilds). Opened read-only: a reader never blocks the writer under WAL.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30)

    def read(self, after: int, limit: int) -> list[tuple[int, Event]]:
        """Decode the next ``limit`` events after ``after``."""
        rows = self.db.execute("select rowid, topic, state from stored_events where rowid > ? order by rowid "
                               "limit ?", (after, limit)).fetchall()
        return [(rowid, decode_event(topic, state)) for rowid, topic, state in rows]

    def read_raw(self, after: int, limit: int) -> list[RawNote]:
        """The next stored rows as they are (no decoding).

        ``state`` is read as a BLOB: a row whose state was edited into TEXT (``replace()`` in SQL returns TEXT)
        yields the bytes of its text, even when they are not valid UTF-8, so the hash chain names it as edited.
        """
        rows = self.db.execute("select rowid, originator_id, originator_version, topic, cast(state as blob) "
                               "from stored_events where rowid > ? order by rowid limit ?", (after, limit)).fetchall()
        return [RawNote(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def head(self) -> int:
        """The newest event's position."""
        return int(self.db.execute("select coalesce(max(rowid), 0) from stored_events").fetchone()[0])


class StoreLog:
    """The notification log of a :class:`ledger.store.application.LedgerStore`.

    On SQLite without cipher or compression it reads the events table directly (:class:`FileLog`; ``path``
    names the file). Otherwise (PostgreSQL, a cipher) it reads through :class:`ledger.store.log_reader.
    CommittedLog`, which never returns a notification while one with a lower id may still commit, so a
    projection's position ("everything up to here is applied") stays true; ``path`` is then None.
    """

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._direct: FileLog | None = None
        self._committed: CommittedLog | None = None
        mapper = store.mapper
        datastore = getattr(store.recorder, "datastore", None)
        db_name = getattr(getattr(datastore, "pool", None), "db_name", None)
        if db_name and ":memory:" not in db_name and not mapper.cipher and not mapper.compressor:
            self._direct = FileLog(db_name)
        else:
            self._committed = CommittedLog(store)
        self.path: str | None = self._direct.path if self._direct is not None else None

    def _log(self) -> FileLog | CommittedLog:
        log = self._direct or self._committed
        assert log is not None
        return log

    def read(self, after: int, limit: int) -> list[tuple[int, Event]]:
        """Decode the next ``limit`` notifications after ``after``."""
        return self._log().read(after, limit)

    def read_raw(self, after: int, limit: int) -> Sequence[RawNote | Note]:
        """The next stored rows as they are (no decoding): for the hash chain."""
        return self._log().read_raw(after, limit)

    def head(self) -> int:
        """The newest notification id."""
        return int(self.store.recorder.max_notification_id() or 0)


class ListLog:
    """An in-memory log (tests, audit verification of a given history)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.items = list(enumerate(events, start=1))

    def read(self, after: int, limit: int) -> list[tuple[int, Event]]:
        """Events after ``after``."""
        return self.items[after:after + limit]

    def head(self) -> int:
        """Number of events."""
        return len(self.items)


def connect(path: Path | str, *, staging: bool = False) -> sqlite3.Connection:
    """Open a read-model file: WAL, NORMAL sync (a read model can always be rebuilt), explicit transactions.

    A ``staging`` file (a rebuild in progress, discarded if interrupted) skips durability: no WAL, no fsync.
    """
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    db.row_factory = sqlite3.Row
    db.execute("pragma cache_size=-65536")
    db.execute("pragma temp_store=memory")
    if staging:
        db.execute("pragma journal_mode=memory")
        db.execute("pragma synchronous=off")
    elif str(path) != ":memory:":
        db.execute("pragma journal_mode=wal")
        db.execute("pragma synchronous=normal")
    db.execute(POSITION_TABLE)
    return db


def position_of(db: sqlite3.Connection, projection: Projection) -> int:
    """Where ``projection`` stands in the log (0 when never run)."""
    row = db.execute("select position from _position where name = ?", (projection.name,)).fetchone()
    return int(row[0]) if row else 0


def stored_version(db: sqlite3.Connection, projection: Projection) -> int | None:
    """The projection version the file was built with."""
    row = db.execute("select version from _position where name = ?", (projection.name,)).fetchone()
    return int(row[0]) if row else None


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage rarely during a long catch-up (a rebuild, a verification).

    Millions of short-lived, acyclic objects (decoded events, rows) are freed by reference counting anyway;
    the collector's frequent passes over the projections' growing caches cost a quarter of a rebuild.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(1_000_000, 10, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def catch_up(projections: Sequence[tuple[Projection, sqlite3.Connection]], events: EventLog, *,
             batch: int = 5000, stop: int | None = None, progress: Callable[[int], None] | None = None,
             indexes: bool = True) -> int:
    """Bring every projection up to the head of the log (or ``stop``); returns how many events were applied.

    Events are read and decoded once per batch and fanned out to every projection that still needs them.
    With ``indexes=False`` (a rebuild) secondary indexes are left for the caller to create at the end.
    """
    for projection, db in projections:
        projection.schema(db, indexes=indexes)
    applied = 0
    maker = MetaMaker()
    while True:
        positions = [position_of(db, p) for p, db in projections]
        start = min(positions) if positions else 0
        if stop is not None and start >= stop:
            return applied
        limit = batch if stop is None else min(batch, stop - start)
        items = events.read(start, limit)
        if not items:
            return applied
        metas = maker.batch(items)
        for (projection, db), at in zip(projections, positions, strict=True):
            todo = _after(at, metas)
            if todo:
                _apply_batch(projection, db, todo)
        applied += len(items)
        if progress is not None:
            progress(len(items))


def _after(at: int, items: Sequence[tuple[Meta, Event]]) -> Sequence[tuple[Meta, Event]]:
    """The items of a batch past position ``at``: all of them, without a copy, when the first one is."""
    return items if at < items[0][0].position else [item for item in items if item[0].position > at]


def _apply_batch(projection: Projection, db: sqlite3.Connection, items: Sequence[tuple[Meta, Event]]) -> None:
    """Apply ``items`` and record the new position in one transaction.

    The position is read again under the write lock: another runner (the service's follower, a CLI read, the
    API) may have applied part of the batch since it was read, and those events must not be applied twice.
    When the file moved on without this instance, its in-memory caches are behind the file and are dropped.
    """
    db.execute("begin immediate")
    try:
        at = position_of(db, projection)
        if at != projection.synced_at:
            projection.reset()
        todo = _after(at, items)
        if not todo:
            db.execute("rollback")
            projection.synced_at = at
            return
        handlers: dict[type, Handler | None] = {}
        for meta, event in todo:
            kind = type(event)
            handler = handlers[kind] if kind in handlers else handlers.setdefault(kind, projection.handler(kind))
            if handler is not None:
                handler(event, db, meta)
        projection.finish_batch(db)
        db.execute("insert into _position (name, position, version, updated_at) values (?, ?, ?, ?) "
                   "on conflict(name) do update set position = excluded.position, version = excluded.version, "
                   "updated_at = excluded.updated_at",
                   (projection.name, todo[-1][0].position, projection.version, time.time()))
        db.execute("commit")
        projection.synced_at = todo[-1][0].position
    except BaseException:
        projection.reset()
        if db.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error): keep its error
            db.execute("rollback")
        raise


def dump(db: sqlite3.Connection, projection: Projection) -> dict[str, list[tuple[SqlValue, ...]]]:
    """Every row of every table of ``projection`` (sorted), to compare two builds."""
    tables = data_tables(db)
    out: dict[str, list[tuple[SqlValue, ...]]] = {}
    for table in tables:
        rows = db.execute(f"select * from {table}").fetchall()
        out[table] = sorted((tuple(r) for r in rows), key=msgspec.json.encode)
    return out
