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

After a group is saved, each written aggregate goes back into the store's write-through cache
(:meth:`ledger.store.application.LedgerStore.remember`), and snapshots that became due are written after the
callers have been released, in one more transaction (a lost snapshot costs only load time).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from eventsourcing.persistence import RecordConflictError, Recording, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.store")

#: Rows per INSERT statement: 4 parameters a row, under SQLite's 32,766 host parameters; chunks are powers of
#: two so that a handful of statement texts covers every group size (sqlite3 caches prepared statements).
_MAX_ROWS = 4096


class SQLiteGroupRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, inserting a whole group with few multi-row statements.

    The library executes one INSERT per event; CPython's sqlite3 releases and re-acquires the GIL around each
    one, and with dozens of threads deciding commands, every re-acquisition makes the committer wait its turn.
    One statement per power-of-two chunk keeps the committer's hand-offs to a few per group. Rowids of one
    statement are consecutive (the database has one writer at a time and each new row takes the largest rowid
    plus one), so the notification ids are the statement's ``lastrowid`` counted back.
    """

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int]:
        ids: list[int] = []
        rest = list(stored_events)
        while rest:
            size = min(_MAX_ROWS, 1 << (len(rest).bit_length() - 1))
            chunk, rest = rest[:size], rest[size:]
            params: list[Any] = []
            for event in chunk:
                originator = event.originator_id
                params += (originator.hex if isinstance(originator, UUID) else originator,
                           event.originator_version, event.topic, event.state)
            c.execute(f"INSERT INTO {self.events_table_name} (originator_id, originator_version, topic, state) "
                      f"VALUES {','.join(['(?,?,?,?)'] * size)}", params)
            last = int(c.lastrowid)
            ids.extend(range(last - size + 1, last + 1))
        return ids


class Submission:
    """The aggregates one command changed, their pending events, and (once written) the outcome.

    Completion is signalled with a plain lock, held from creation until :meth:`finish` (the cheapest blocking
    hand-off between threads in CPython, which matters at thousands of commands a second).
    """

    __slots__ = ("_pending", "aggregates", "error", "events", "finished", "recordings")

    def __init__(self, aggregates: list[Any], events: list[Any]) -> None:
        self.aggregates = aggregates
        self.events = events
        self.recordings: list[Recording[Any]] = []
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
    """Writes the aggregates of concurrent callers in shared transactions (see the module docstring)."""

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

    def commit(self, aggregates: Sequence[Any]) -> list[Recording[Any]]:
        """Write the pending events of ``aggregates`` (in a group with whatever else arrives together).

        Blocks until they are durable and returns their recordings (with log positions); raises
        :class:`RecordConflictError` if another writer got there first, or the error that failed this
        submission alone.
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if not events:
            return []
        submission = Submission(list(aggregates), events)
        with self._lock:
            if self._closed:
                raise CommitterClosed("the group committer is closed")
            self._queue.put(submission)
        submission.wait()
        if submission.error is not None:
            raise submission.error
        return submission.recordings

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
        seen: set[Any] = set()
        distinct: list[Submission] = []
        for submission in group:
            ids = {event.originator_id for event in submission.events}
            if ids & seen:
                submission.finish(RecordConflictError("another command on the same aggregate in this group"))
            else:
                seen |= ids
                distinct.append(submission)
        saved: list[Submission] = []
        self._save(distinct, saved)
        self.groups += 1
        self.submissions += len(distinct)
        # Encode due snapshots before the aggregates go back into the cache, where the next command may take
        # and change them; write them after the callers are released (a lost snapshot costs only load time).
        due = [a for s in saved for a in self.store.snapshots_due(s.aggregates, s.events)]
        snapshots = self.store.encode_snapshots(due)
        for submission in saved:
            for aggregate in submission.aggregates:
                self.store.remember(aggregate)
        for submission in distinct:
            submission.finish()
        if snapshots:
            try:
                self.store.write_snapshots(snapshots)
            except Exception as error:
                log.warning("snapshots_failed", count=len(snapshots), error=repr(error))

    def _save(self, part: list[Submission], saved: list[Submission]) -> None:
        """Save ``part`` in one transaction; on failure, each half again, down to single submissions."""
        if not part:
            return
        try:
            recordings = self.store.record([event for submission in part for event in submission.events])
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
            submission.recordings = recordings[start:start + len(submission.events)]
            start += len(submission.events)
            saved.append(submission)
