"""What each worker has already done, by event id, so redeliveries and replays never act twice."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """create table if not exists processed (worker text not null, event_id text not null,
    status text not null, at real not null, primary key (worker, event_id))"""


class Inbox:
    """A small SQLite table of (worker, event id) -> claimed / done."""

    def __init__(self, path: Path | str) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        if str(path) != ":memory:":
            self.db.execute("pragma journal_mode=wal")
        self.db.execute(SCHEMA)
        self._lock = threading.Lock()

    def status(self, worker: str, event_id: str) -> str | None:
        """``claimed``, ``done`` or None."""
        with self._lock:
            row = self.db.execute("select status from processed where worker = ? and event_id = ?",
                                  (worker, event_id)).fetchone()
        return str(row[0]) if row else None

    def mark(self, worker: str, event_id: str, status: str) -> None:
        """Record progress on an event."""
        with self._lock:
            self.db.execute("insert into processed values (?, ?, ?, ?) on conflict(worker, event_id) do update set "
                            "status = excluded.status, at = excluded.at", (worker, event_id, status, time.time()))

    def count(self, worker: str, status: str = "done") -> int:
        """How many events ``worker`` has in ``status``."""
        with self._lock:
            return int(self.db.execute("select count(*) from processed where worker = ? and status = ?",
                                       (worker, status)).fetchone()[0])
