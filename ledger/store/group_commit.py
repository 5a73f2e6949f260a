"""Group commit: one committer thread writes what concurrent callers hand it, one transaction per group.

With ``synchronous=FULL`` (SQLite) or a synchronous commit (PostgreSQL) every transaction waits for the disk,
and on PostgreSQL eventsourcing also takes an ``EXCLUSIVE`` table lock per insert transaction. Writing the
aggregates of many concurrent commands in one transaction pays that cost once for the whole group: while one
group is being flushed, callers prepare the next one, so the group grows with the load.

Isolation: a group whose transaction fails is split in halves and each half is written again, down to single
submissions, so a version conflict or any other error in one submission never fails or loses the others; only
that submission's caller sees the error (a :class:`RecordConflictError` tells it to decide again on fresh
state). Two submissions for the same aggregate in one group cannot both be right (both were decided on the same
version): the later one is refused with a conflict before the group is written.

The gateway intents whose outcome a group records (:mod:`ledger.store.intents`) are removed with it, in its
transaction on SQLite (:meth:`LedgerStore.insert`), instead of one durable transaction per command on the
write turn the committer needs. After a group is saved, each caller puts its aggregates back into the store's
write-through cache (:meth:`ledger.store.application.LedgerStore.remember`), and snapshots that became due
are written after the callers have been released, in one more transaction (a lost snapshot costs only load
time).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from eventsourcing import persistence as es_persistence
from eventsourcing.persistence import RecordConflictError, Recording, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

if TYPE_CHECKING:
    from ledger.aggregates.events.base import Event
    from ledger.store.application import Aggregate, LedgerStore

log = structlog.get_logger("ledger.store")

#: Rows in one INSERT statement: 4 parameters a row, under SQLite's 32,766 host parameters.
_MAX_ROWS = 8191

_SQLITE_ERRORS: tuple[tuple[type[sqlite3.Error], type[Exception]], ...] = (
    (sqlite3.IntegrityError, es_persistence.IntegrityError),
    (sqlite3.OperationalError, es_persistence.OperationalError),
    (sqlite3.Error, es_persistence.PersistenceError),
)


class SQLiteGroupRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, inserting a whole group with one statement.

    The library executes ``BEGIN``, one INSERT per event and ``COMMIT``; CPython's sqlite3 releases and
    re-acquires the GIL around each, and with dozens of threads deciding commands every re-acquisition makes
    the committer wait its turn. A group of up to ``_MAX_ROWS`` events is therefore one multi-row INSERT run
    in autocommit mode: SQLite makes a single statement atomic by itself (all rows or none, then the fsync),
    so the committer hands the GIL over once per group. Rowids of one statement are consecutive (one writer
    at a time, each new row takes the largest rowid plus one), so the notification ids are the statement's
    ``lastrowid`` counted back. Larger groups use the library's transaction, one statement per chunk.

    ``resolving``: gateway intents (:mod:`ledger.store.intents`) the events record the outcome of, removed in
    the same transaction (then ``BEGIN`` and ``COMMIT`` around the two statements): one durable write for the
    group instead of a second one for its intents, which took 30% of the committer's time at 500 commands/s.
    """

    #: Whether ``insert_events`` takes ``resolving`` (read by :meth:`LedgerStore.insert`).
    resolves_intents = True

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not 0 < len(stored_events) <= _MAX_ROWS:
            return super().insert_events(stored_events, **kwargs)
        resolving: Sequence[str] = kwargs.get("resolving", ())
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            try:
                if not resolving:
                    return self._insert_events(cursor, stored_events)
                cursor.execute("BEGIN")  # a failure leaves it open: the pool rolls back every connection given back
                ids = self._insert_events(cursor, stored_events, resolving=resolving)
                cursor.execute("COMMIT")
                return ids
            except sqlite3.Error as error:
                raise next(ours for theirs, ours in _SQLITE_ERRORS if isinstance(error, theirs))(error) from error
            finally:
                cursor.sqlite_cursor.close()

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        resolving: Sequence[str] = kwargs.get("resolving", ())
        for start in range(0, len(resolving), _MAX_ROWS):
            keys = resolving[start:start + _MAX_ROWS]
            c.execute(f"DELETE FROM gateway_intents WHERE key IN ({','.join('?' * len(keys))})", list(keys))
        ids: list[int] = []
        for start in range(0, len(stored_events), _MAX_ROWS):
            chunk = stored_events[start:start + _MAX_ROWS]
            params: list[str | int | bytes] = []
            for event in chunk:
                originator = event.originator_id
                params += (originator.hex if isinstance(originator, UUID) else originator,
                           event.originator_version, event.topic, event.state)
            c.execute(f"INSERT INTO {self.events_table_name} (originator_id, originator_version, topic, state) "
                      f"VALUES {','.join(['(?,?,?,?)'] * len(chunk))}", params)
            last = int(c.lastrowid)
            ids.extend(range(last - len(chunk) + 1, last + 1))
        return ids


class Submission:
    """What one command hands the committer: its aggregates, their pending events already encoded (by the
    caller's thread), the snapshots that became due, and (once written) the events' log positions.

    Completion is signalled with a plain lock, held from creation until :meth:`finish` (the cheapest blocking
    hand-off between threads in CPython, which matters at thousands of commands a second).
    """

    __slots__ = ("_pending", "aggregates", "error", "events", "finished", "ids", "intents", "originators",
                 "snapshots", "stored")

    def __init__(self, aggregates: list[Aggregate], events: list[Event], stored: list[StoredEvent],
                 snapshots: list[StoredEvent], intents: Sequence[str] = ()) -> None:
        self.aggregates = aggregates
        self.intents = intents
        self.events = events
        self.stored = stored
        self.snapshots = snapshots
        self.originators = {event.originator_id for event in events}
        self.ids: Sequence[int] = []
        self.error: BaseException | None = None
        self.finished = False
        self._pending = threading.Lock()
        self._pending.acquire()

    def finish(self, error: BaseException | None = None) -> None:
        """Release the waiting caller (once)."""
        if not self.finished:
            self.finished = True
            self.error = error if error is not None else self.error
            self._pending.release()

    def wait(self) -> None:
        """Block until :meth:`finish`."""
        self._pending.acquire()


class CommitterClosed(RuntimeError):
    """The group committer was closed; nothing more can be written through it."""


class GroupCommitter:
    """Writes the aggregates of concurrent callers in shared transactions (see the module docstring).

    The committer thread is the one serial step, so everything that can be done by the callers is: each
    encodes its own events and due snapshots before queueing, and builds its recordings and puts its
    aggregates back into the cache after waking. The committer only concatenates, inserts and hands back
    log positions.
    """

    def __init__(self, store: LedgerStore, *, max_batch: int = 512) -> None:
        self.store = store
        self.max_batch = max_batch
        self.groups = 0
        self.submissions = 0
        self._queue: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def commit(self, aggregates: Sequence[Aggregate], intents: Sequence[str] = ()) -> list[Recording[UUID]]:
        """Write the pending events of ``aggregates`` (in a group with whatever else arrives together), then
        resolve the gateway ``intents`` they record the outcome of (with the group's others; one that fails is
        logged and left for reconciliation, as :meth:`ledger.commands.unit.Unit.committed` does).

        Blocks until they are durable and returns their recordings (with log positions); raises
        :class:`RecordConflictError` if another writer got there first, or the error that failed this
        submission alone. No pending events: nothing is written or resolved.
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if not events:
            return []
        store = self.store
        # Snapshots are encoded now, from the state these events produced, before anyone can change it.
        submission = Submission(list(aggregates), events, store.prepare(events),
                                store.encode_snapshots(store.snapshots_due(aggregates, events)), intents)
        with self._lock:
            if self._closed:
                raise CommitterClosed("the group committer is closed")
            self._queue.put(submission)
        submission.wait()
        if submission.error is not None:
            raise submission.error
        for aggregate in submission.aggregates:
            store.remember(aggregate)
        return store.recordings(events, submission.stored, submission.ids)

    def close(self) -> None:
        """Write what is queued, then stop the committer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            try:
                self._write(group)
            except BaseException as error:  # never leave a caller waiting
                for submission in group:
                    submission.finish(error)
            if stop:
                return

    def _write(self, group: list[Submission]) -> None:
        seen: set[UUID] = set()
        distinct: list[Submission] = []
        for submission in group:
            if submission.originators & seen:
                submission.finish(RecordConflictError("another command on the same aggregate in this group"))
            else:
                seen |= submission.originators
                distinct.append(submission)
        saved: list[Submission] = []
        self._save(distinct, saved)
        self.groups += 1
        self.submissions += len(distinct)
        for submission in distinct:
            submission.finish()
        snapshots = [snapshot for submission in saved for snapshot in submission.snapshots]
        if snapshots:  # after the callers are released: a lost snapshot costs only load time
            try:
                self.store.write_snapshots(snapshots)
            except Exception as error:
                log.warning("snapshots_failed", count=len(snapshots), error=repr(error))

    def _save(self, part: list[Submission], saved: list[Submission]) -> None:
        """Save ``part`` in one transaction; on failure, each half again, down to single submissions."""
        if not part:
            return
        try:
            ids = self.store.insert([stored for submission in part for stored in submission.stored],
                                    [key for submission in part for key in submission.intents])
        except Exception as error:
            if len(part) == 1:
                part[0].error = error
                if isinstance(error, RecordConflictError):
                    self.store.forget(part[0].aggregates)
                return
            middle = len(part) // 2
            self._save(part[:middle], saved)
            self._save(part[middle:], saved)
            return
        start = 0
        for submission in part:
            submission.ids = ids[start:start + len(submission.stored)]
            start += len(submission.stored)
            saved.append(submission)
