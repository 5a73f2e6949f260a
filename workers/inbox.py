"""What each worker has done, by event id, so redeliveries, restarts and replays never act twice.

An event goes ``claimed`` (durably, before the worker acts) -> ``done`` (after). A worker that fails with an
error marks it ``failed`` (nothing happened: it may be tried again). A ``claimed`` event found on a later
delivery means the previous attempt died mid-way: whether it acted is unknown; a worker whose action cannot be
repeated safely (an email over SMTP) records it as ``uncertain`` for an operator instead of acting again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """create table if not exists processed (worker text not null, event_id text not null,
    status text not null, at real not null, primary key (worker, event_id))"""
CLAIMED, DONE, FAILED, UNCERTAIN = "claimed", "done", "failed", "uncertain"


class Inbox:
    """A small SQLite table of (worker, event id) -> claimed / done / failed / uncertain."""

    def __init__(self, path: Path | str) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        if str(path) != ":memory:":
            self.db.execute("pragma journal_mode=wal")
        self.db.execute(SCHEMA)
        self._lock = threading.Lock()

    def status(self, worker: str, event_id: str) -> str | None:
        """``claimed``, ``done``, ``failed``, ``uncertain`` or None."""
        with self._lock:
            return self._status(worker, event_id)

    def _status(self, worker: str, event_id: str) -> str | None:
        row = self.db.execute("select status from processed where worker = ? and event_id = ?",
                              (worker, event_id)).fetchone()
        return str(row[0]) if row else None

    def claim(self, worker: str, event_id: str) -> str | None:
        """Atomically record that ``worker`` starts on ``event_id`` (unless it is done or uncertain) and return
        the status recorded before: None or ``failed`` (go ahead), ``claimed`` (a previous attempt died
        mid-way), ``done`` / ``uncertain`` (leave it)."""
        with self._lock:
            self.db.execute("begin immediate")  # one claimer at a time, also across processes
            try:
                previous = self._status(worker, event_id)
                if previous in (None, FAILED):
                    self._set(worker, event_id, CLAIMED)
                self.db.execute("commit")
            except BaseException:
                self.db.execute("rollback")
                raise
        return previous

    def mark(self, worker: str, event_id: str, status: str) -> None:
        """Record progress on an event."""
        with self._lock:
            self._set(worker, event_id, status)

    def _set(self, worker: str, event_id: str, status: str) -> None:
        self.db.execute("insert into processed values (?, ?, ?, ?) on conflict(worker, event_id) do update set "
                        "status = excluded.status, at = excluded.at", (worker, event_id, status, time.time()))

    def count(self, worker: str, status: str = DONE) -> int:
        """How many events ``worker`` has in ``status``."""
        with self._lock:
            return int(self.db.execute("select count(*) from processed where worker = ? and status = ?",
                                       (worker, status)).fetchone()[0])

    def summary(self) -> dict[str, dict[str, int]]:
        """worker -> status -> count."""
        with self._lock:
            rows = self.db.execute("select worker, status, count(*) from processed group by worker, status "
                                   "order by worker, status").fetchall()
        out: dict[str, dict[str, int]] = {}
        for worker, status, count in rows:
            out.setdefault(str(worker), {})[str(status)] = int(count)
        return out

    def listed(self, status: str, worker: str | None = None) -> list[tuple[str, str, float]]:
        """(worker, event id, when) of every event in ``status`` (of one worker, or all), oldest first."""
        with self._lock:
            rows = self.db.execute("select worker, event_id, at from processed where status = ? and "
                                   "(? is null or worker = ?) order by at", (status, worker, worker)).fetchall()
        return [(str(w), str(e), float(a)) for w, e, a in rows]

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self.db.close()
