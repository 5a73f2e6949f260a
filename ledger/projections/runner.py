"""The projection runner: polls the notification log in batches, applies them, resumes where it stopped.

eventsourcing's SQLite store has no subscriptions, so projections poll ``select_notifications``. Each batch
(thousands of events) and the new position are written in ONE SQLite transaction: a crash loses nothing and
repeats nothing. Each projection lives in its own file under the projections folder, so it can be rebuilt
into a new file and swapped in atomically while the old one keeps serving.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import msgspec
import structlog

from ledger.projections.base import Meta, MetaMaker, Projection
from ledger.store.mapper import decode_event

log = structlog.get_logger("ledger.projections")

POSITION_TABLE = """create table if not exists _position (
    name text primary key, position integer not null, version integer not null, updated_at real not null)"""


class EventLog(Protocol):
    """An ordered history: (position, event) pairs after a position."""

    def read(self, after: int, limit: int) -> Sequence[tuple[int, Any]]:
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


class StoreLog:
    """The notification log of a :class:`ledger.store.application.LedgerStore`.

    On SQLite without cipher or compression it reads the events table directly (several times faster than
    building the library's Notification objects); otherwise it goes through the recorder and mapper.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._direct: sqlite3.Connection | None = None
        mapper = store.mapper
        datastore = getattr(store.recorder, "datastore", None)
        db_name = getattr(getattr(datastore, "pool", None), "db_name", None)
        if db_name and ":memory:" not in db_name and not mapper.cipher and not mapper.compressor:
            self._direct = sqlite3.connect(f"file:{db_name}?mode=ro", uri=True, check_same_thread=False, timeout=30)

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        """Decode the next ``limit`` notifications after ``after``."""
        if self._direct is not None:
            rows = self._direct.execute("select rowid, topic, state from stored_events where rowid > ? "
                                        "order by rowid limit ?", (after, limit)).fetchall()
            return [(rowid, decode_event(topic, state)) for rowid, topic, state in rows]
        notes = self.store.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        to_event = self.store.mapper.to_domain_event
        return [(n.id, to_event(n)) for n in notes]

    def read_raw(self, after: int, limit: int) -> list[RawNote]:
        """The next stored rows as they are (no decoding): for the relay and the hash chain."""
        if self._direct is not None:
            rows = self._direct.execute("select rowid, originator_id, originator_version, topic, state from "
                                        "stored_events where rowid > ? order by rowid limit ?",
                                        (after, limit)).fetchall()
            return [RawNote(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in rows]
        notes = self.store.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        return [RawNote(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in notes]

    def head(self) -> int:
        """The newest notification id."""
        return int(self.store.recorder.max_notification_id() or 0)


class ListLog:
    """An in-memory log (tests, audit verification of a given history)."""

    def __init__(self, events: Iterable[Any]) -> None:
        self.items = list(enumerate(events, start=1))

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
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
    meta_of = MetaMaker()
    while True:
        positions = [position_of(db, p) for p, db in projections]
        start = min(positions) if positions else 0
        if stop is not None and start >= stop:
            return applied
        limit = batch if stop is None else min(batch, stop - start)
        items = events.read(start, limit)
        if not items:
            return applied
        metas = [(meta_of(pos, e), e) for pos, e in items]
        for (projection, db), at in zip(projections, positions, strict=True):
            todo = [(m, e) for m, e in metas if m.position > at]
            if todo:
                _apply_batch(projection, db, todo)
        applied += len(items)
        if progress is not None:
            progress(len(items))


def _apply_batch(projection: Projection, db: sqlite3.Connection, items: Sequence[tuple[Meta, Any]]) -> None:
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
        todo = [item for item in items if item[0].position > at]
        if not todo:
            db.execute("rollback")
            projection.synced_at = at
            return
        handlers: dict[type, Any] = {}
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
        db.execute("rollback")
        projection.reset()
        raise


class ProjectionFiles:
    """Where each projection's SQLite file lives, and the atomic rebuild-then-swap."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, projection: Projection) -> Path:
        """The serving file of ``projection``."""
        return self.folder / f"{projection.name}.db"

    def open(self, projection: Projection) -> sqlite3.Connection:
        """A connection to the serving file (created empty if missing)."""
        db = connect(self.path(projection))
        projection.schema(db)
        return db

    def rebuild(self, projections: Sequence[Projection], events: EventLog, *, batch: int = 20000,
                progress: Callable[[int], None] | None = None, interrupt_at: int | None = None) -> int:
        """Build each projection from position 0 into a new file, then swap it in atomically.

        The serving files stay untouched (and keep serving) until the swap; an interrupted rebuild leaves only
        a ``.rebuild`` file behind, which the next rebuild replaces. ``interrupt_at`` stops early (tests).
        """
        staged: list[tuple[Projection, Path, sqlite3.Connection]] = []
        for projection in projections:
            temp = self.folder / f"{projection.name}.db.rebuild"
            for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
                leftover.unlink(missing_ok=True)
            staged.append((projection, temp, connect(temp, staging=True)))
        try:
            with bulk_gc():
                applied = catch_up([(p, db) for p, _, db in staged], events, batch=batch, progress=progress,
                                   stop=interrupt_at, indexes=False)
            if interrupt_at is not None:
                raise RebuildInterrupted(f"stopped at {interrupt_at}")
            for projection, _, db in staged:
                projection.schema(db)  # now the secondary indexes, built once over the loaded rows
        finally:
            for _, _, db in staged:
                db.execute("pragma journal_mode=wal")
                db.close()
        for projection, temp, _ in staged:
            os.replace(temp, self.path(projection))
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path(projection)}{suffix}").unlink(missing_ok=True)
            log.info("projection_rebuilt", projection=projection.name, events=applied)
        return applied


class RebuildInterrupted(RuntimeError):
    """A rebuild stopped before its swap; the serving projection is untouched."""


def dump(db: sqlite3.Connection, projection: Projection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``projection`` (sorted), to compare two builds."""
    tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table' and name != '_position'"
                                       " order by name")]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables:
        rows = db.execute(f"select * from {table}").fetchall()
        out[table] = sorted((tuple(r) for r in rows), key=msgspec.json.encode)
    return out
