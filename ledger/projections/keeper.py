"""Keeps the projections and the hash chain of one ledger up to date, reports their lag, rebuilds them."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast
from zoneinfo import ZoneInfo

import msgspec
import structlog

from ledger.ports.clock import DEFAULT_ZONE, local_text
from ledger.projections import fresh
from ledger.projections.base import Projection
from ledger.projections.chain import HashChain
from ledger.projections.rebuild import ProjectionFiles
from ledger.projections.runner import StoreLog, catch_up, connect
from ledger.store.seals import SealBook

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

    from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.projections")

#: Catch-ups tried again when SQLite refuses one with "database is locked" instead of waiting.
BUSY_RETRIES = 10


class ProjectionStatus(msgspec.Struct, frozen=True):
    """Where one projection stands."""

    name: str
    position: int
    head: int
    lag: int
    version: int
    stale: bool
    file: str
    #: When a batch was last applied to the file (ISO 8601 in the business time zone, to the second, as every
    #: instant a person reads; None when never): an old time with a lag
    #: means no runner is applying events (is the follower of ``ledger serve`` running?).
    updated_at: str | None = None


def chain_file(path: Path, projections_dir: Path) -> Path:
    """The hash chain's file ``path`` (LEDGER_CHAIN_DB, by default beside the event store), apart from the read
    models, which may be deleted and rebuilt at will (a chain cannot: it vouches for the past). A chain kept in
    ``projections_dir``, where it was kept before, is moved there first."""
    earlier = projections_dir / "chain.db"
    if earlier.exists() and not path.exists():
        db = sqlite3.connect(earlier)
        db.execute("pragma wal_checkpoint(truncate)")  # everything into the main file before it moves
        db.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(earlier, path)
        for suffix in ("-wal", "-shm"):
            Path(f"{earlier}{suffix}").unlink(missing_ok=True)
    return path


class StopFlag(Protocol):
    """What :meth:`ProjectionKeeper.follow` waits on: a ``threading.Event``, or the follower process's
    ``ledger.projections.follower.PipeStop``."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class ProjectionKeeper:
    """The serving projections of a store: catch up, status, rebuild, follow the log."""

    def __init__(self, store: LedgerStore, home: Path, *, projections_dir: Path | None = None,
                 chain_db: Path | None = None) -> None:
        """The read models under ``projections_dir`` (default ``home/projections``) and the hash chain in
        ``chain_db`` (default ``home/chain.db``)."""
        self.store = store
        self.events = StoreLog(store)
        files = projections_dir if projections_dir is not None else home / "projections"
        self.files = ProjectionFiles(files)
        self.chain_path = chain_file(chain_db if chain_db is not None else home / "chain.db", files)
        self._chain: HashChain | None = None
        self._open: dict[str, tuple[Projection, sqlite3.Connection, int]] = {}

    def connection(self, name: str) -> sqlite3.Connection:
        """A connection to the serving file of ``name`` (reopened after a rebuild swapped the file)."""
        return self._current(name)[1]

    def _current(self, name: str) -> tuple[Projection, sqlite3.Connection]:
        path = self.files.path(fresh([name])[0])
        inode = path.stat().st_ino if path.exists() else -1
        held = self._open.get(name)
        if held is not None and held[2] == inode:
            return held[0], held[1]
        if held is not None:
            held[1].close()
        projection = fresh([name])[0]
        if self.files.rebuild_stale([projection], self.events):  # built by another version of the code
            return self._current(name)
        db = self.files.open(projection)
        self._open[name] = (projection, db, path.stat().st_ino)
        return projection, db

    def catch_up(self, names: list[str] | None = None) -> int:
        """Apply every new event to the serving projections and extend the hash chain.

        A projection whose file was built by another version of its code is rebuilt when it is opened (its
        rows would not mean what the code now reads from them).
        """
        chosen = [p.name for p in fresh(names)]
        attempt = 0
        while True:
            attempt += 1
            try:
                pairs = [self._current(n) for n in chosen]
                applied = catch_up(pairs, self.events)
                self.chain.catch_up(self.events)
                return applied
            except sqlite3.OperationalError as error:
                # SQLite answers "database is locked" without waiting when waiting could deadlock (a read
                # snapshot that another writer made stale, a file switching to WAL while another opens it).
                # Every batch rolled back whole, so catching up again is safe.
                if "locked" not in str(error) or attempt == BUSY_RETRIES:
                    raise
                log.info("projections_busy_retry", attempt=attempt, error=str(error))
                time.sleep(0.01 * attempt)

    @property
    def chain(self) -> HashChain:
        """The hash chain over the stored events (opened on first use)."""
        if self._chain is None:
            key: bytes | None = self.store.seal_key() if hasattr(self.store, "seal_key") else None
            settings = getattr(self.store, "settings", None)
            seals: SealBook | None = None
            if key is not None and settings is not None and settings.store == "sqlite":
                seals = SealBook(settings.db_path, key)
            elif key is not None and settings is not None and settings.store == "postgres":
                from ledger.store.postgres_factory import PostgresSealBook  # psycopg only where it is used

                seals = PostgresSealBook(cast("PostgresApplicationRecorder", self.store.recorder), key)
            self._chain = HashChain(self.chain_path, key=key, seals=seals)
        return self._chain

    def status(self, zone: ZoneInfo | None = None) -> list[ProjectionStatus]:
        """Position, lag and staleness of every projection; when each was last updated in ``zone`` (DEFAULT_ZONE
        if left out)."""
        head = self.events.head()
        out = []
        for projection in fresh():
            db = connect(self.files.path(projection))  # as it is: a stale file is reported, not rebuilt
            row = db.execute("select position, version, updated_at from _position where name = ?",
                             (projection.name,)).fetchone()
            changed = projection.layout.changed_tables(db)
            db.close()
            position, version = (int(row[0]), int(row[1])) if row else (0, projection.version)
            updated = local_text(datetime.fromtimestamp(row[2], UTC), zone or ZoneInfo(DEFAULT_ZONE)) if row else None
            out.append(ProjectionStatus(projection.name, position, head, head - position, version,
                                        version != projection.version or bool(changed),
                                        str(self.files.path(projection)), updated))
        return out

    def rebuild(self, names: list[str] | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild into new files from position 0 and swap them in; the old ones serve until the swap."""
        return self.files.rebuild(fresh(names), self.events, progress=progress)

    def follow(self, stop: StopFlag, interval: float = 0.2) -> None:
        """Keep the projections caught up until ``stop`` is set (the service's projection runner)."""
        while not stop.is_set():
            try:
                applied = self.catch_up()
            except Exception:
                log.exception("projection_catch_up_failed")
                applied = 0
            if applied == 0:
                stop.wait(interval)
            else:
                log.info("projections_caught_up", events=applied, log_position=self.events.head())

    def close(self) -> None:
        """Close every open file."""
        for _, db, _ in self._open.values():
            db.close()
        self._open.clear()
        if self._chain is not None:
            self._chain.close()
            self._chain = None

