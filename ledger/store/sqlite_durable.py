"""eventsourcing's SQLite module with durable settings: WAL and ``synchronous=FULL`` on every connection.

Selected with ``PERSISTENCE_MODULE=ledger.store.sqlite_durable``; a committed event survives a power cut.
"""

from __future__ import annotations

import contextlib
import sqlite3

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import ConnectionUnavailableError, InterfaceError
from eventsourcing.utils import Environment, EnvType

from ledger.store import seals

#: The eventsourcing environment's name for the seal key (hex), set by ``LedgerStore`` in-process only.
SEAL_KEY = "LEDGER_SEAL_KEY"
#: Connections a pool keeps open for reuse: more than the threads that use one at once in ``serve`` (64 deciding
#: commands, the committer, the workers, the reads). The library keeps 5 and opens up to 10 more, closing each
#: after its use: most reads under load paid a new connection (the WAL and mmap pragmas, the seal function, an
#: empty statement cache), and the rest queued for one.
POOL_SIZE = 96
#: Connections opened beyond :data:`POOL_SIZE` when all are in use (closed again after their use).
MAX_OVERFLOW = 64


class DurableConnectionPool(es_sqlite.SQLiteConnectionPool):
    """Connections in WAL mode with ``synchronous=FULL``, a busy timeout and a real statement cache.

    Reads go through a memory map (``mmap_size``): a long customer's snapshot spans thousands of overflow
    pages, read in one pass instead of one system call each (a 9 MB snapshot: ~20 ms down to ~10 ms).
    Writes still go through the WAL, so durability is unchanged. The library opens its connections with a
    one-statement cache (``cached_statements=True``); every statement prepared again also releases and
    re-acquires the GIL, which the group committer pays with a wait behind the deciding threads.

    The pool keeps :data:`POOL_SIZE` connections open (the library's default is 5, plus 10 opened and closed
    again for each use beyond): ``serve`` decides up to 64 commands at once, each reading on a connection of its
    own, beside the committer, the workers and the reads. A writer waits for the one write turn before it joins
    the queue for a connection (:meth:`get_connection`), not inside it.
    """

    #: Bytes of the database file a connection may map for reading.
    mmap_bytes = 1 << 30
    #: Prepared statements kept per connection (group inserts use one text per group size).
    statement_cache = 512
    #: The ledger's secret, which keys the seal of every inserted event (``ledger.store.seals``).
    seal_key: bytes | None = None

    def get_connection(self, timeout: float | None = None, *,
                       is_writer: bool | None = None) -> es_sqlite.SQLiteConnection:
        """A connection; for a writer (``is_writer``), once no other writer holds one.

        The library takes the write turn while holding the queue every request for a connection joins (its
        "fairness" semaphore), so a writer waiting for the turn held up every reader behind it: the group
        committer, the one serial step of ``serve``, spent 3/4 of its time at 1,000 commands/s in that queue
        behind deciding threads waiting to read. Writers still take turns (SQLite allows one at a time, and a
        wait in SQLite's busy handler sleeps milliseconds); readers no longer wait for them.
        """
        if is_writer is not True or self._mutually_exclusive_read_write:
            return super().get_connection(timeout, is_writer=is_writer)
        limit = self.pool_timeout if timeout is None else timeout
        if not self._writer_lock.acquire(timeout=limit):
            raise ConnectionUnavailableError("Timed out waiting for return of writer")
        try:
            connection = super().get_connection(timeout)
        except BaseException:
            self._writer_lock.release()
            raise
        connection.is_writer = True  # put_connection releases the write turn
        self._num_writers += 1
        return connection

    def put_connection(self, conn: es_sqlite.SQLiteConnection) -> None:
        """Give ``conn`` back, its transaction rolled back if one is still open: when a COMMIT fails (a full disk,
        an I/O error) SQLite may leave the transaction open, and the library raises without rolling it back. Kept
        open, the pooled connection would hold the write lock and fail every later ``BEGIN`` on it (a gateway
        intent that failed to commit wedged every writer)."""
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()  # nothing to do (no statement run) outside a transaction
        super().put_connection(conn)

    def _create_connection(self) -> es_sqlite.SQLiteConnection:
        try:
            raw = sqlite3.connect(database=self.db_name, uri=True, check_same_thread=False, isolation_level=None,
                                  cached_statements=self.statement_cache,
                                  timeout=self.lock_timeout or es_sqlite.SQLITE3_DEFAULT_LOCK_TIMEOUT)
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        if not self.is_sqlite_memory_mode:
            raw.execute("PRAGMA journal_mode=WAL;")
            self.is_journal_mode_wal = True
            raw.execute(f"PRAGMA mmap_size={self.mmap_bytes};")
        raw.execute("PRAGMA synchronous=FULL;")
        if self.seal_key is not None:
            seals.install(raw, self.seal_key)
        raw.row_factory = sqlite3.Row
        return es_sqlite.SQLiteConnection(sqlite_conn=raw, max_age=self.max_age)


class Factory(es_sqlite.SQLiteFactory):
    """SQLiteFactory whose datastore uses :class:`DurableConnectionPool`."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        old = self.datastore.pool
        pool = DurableConnectionPool(db_name=old.db_name, lock_timeout=old.lock_timeout,
                                     pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
        key = self.env.get(SEAL_KEY)
        pool.seal_key = bytes.fromhex(key) if key else None
        self.datastore.pool = pool
        old.close()
