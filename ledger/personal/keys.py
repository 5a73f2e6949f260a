"""Per-account data keys, wrapped (AES-GCM) by the key-encryption key, in a table that can forget a row.

SQLite: ``$LEDGER_HOME/keys.db`` (``secure_delete``: a deleted key's bytes are overwritten, and the WAL is
checkpointed and truncated after a forget, so no old page or frame keeps them). PostgreSQL:
``ledger_account_keys`` in the store's schema, vacuumed after a delete so the row's bytes go too.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

_COLUMNS = "account text not null, key_id text not null, wrapped {blob} not null, kek_id text not null, " \
           "primary key (account, key_id)"


#: The row a forgotten account keeps in place of its keys (so that values recorded before sealing existed are
#: shown erased too); it sorts after every key id and wraps nothing.
TOMBSTONE = "~forgotten"


class SqlKeys:
    """The queries of a key table; subclasses give the connection, its placeholder and the table's name."""

    table = "account_keys"

    def __init__(self, placeholder: str) -> None:
        self.lock = threading.Lock()
        self.p = placeholder

    def _all(self, sql: str, *args: str | bytes) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection."""
        raise NotImplementedError

    def get(self, account: str, key_id: str) -> tuple[bytes, str] | None:
        """(wrapped key, id of the key-encryption key that wrapped it), None when absent or forgotten."""
        found = self._all(f"select wrapped, kek_id from {self.table} where account = {self.p} and key_id = {self.p}",
                          account, key_id)
        return (bytes(found[0][0]), found[0][1]) if found else None

    def current(self, account: str) -> tuple[str, bytes, str] | None:
        """The newest key of ``account``: (key id, wrapped key, key-encryption key id)."""
        found = self._all(f"select key_id, wrapped, kek_id from {self.table} where account = {self.p} and "
                          f"key_id <> {self.p} order by key_id desc limit 1", account, TOMBSTONE)
        return (found[0][0], bytes(found[0][1]), found[0][2]) if found else None

    def add(self, account: str, key_id: str, wrapped: bytes, kek_id: str) -> None:
        """Keep a new key (a key id already there is kept as it is)."""
        self._all(f"insert into {self.table} values ({self.p}, {self.p}, {self.p}, {self.p}) on conflict do nothing",
                  account, key_id, wrapped, kek_id)

    def forget(self, account: str) -> int:
        """Destroy every key of ``account`` and leave its tombstone; how many keys there were."""
        gone = self._all(f"delete from {self.table} where account = {self.p} returning key_id", account)
        self.add(account, TOMBSTONE, b"", "")
        return len([key for (key,) in gone if key != TOMBSTONE])

    def forgotten(self, account: str) -> bool:
        """Whether ``account`` was forgotten."""
        return self.get(account, TOMBSTONE) is not None

    def rows(self) -> list[tuple[str, str, bytes, str]]:
        """Every key: (account, key id, wrapped, kek id), for re-wrapping under a new key-encryption key."""
        return [(a, k, bytes(w), e) for a, k, w, e in self._all(f"select * from {self.table} where key_id <> {self.p}",
                                                                  TOMBSTONE)]

    def replace_wrapped(self, account: str, key_id: str, wrapped: bytes, kek_id: str) -> None:
        """Store a key re-wrapped under another key-encryption key."""
        self._all(f"update {self.table} set wrapped = {self.p}, kek_id = {self.p} where account = {self.p} and "
                  f"key_id = {self.p}", wrapped, kek_id, account, key_id)


class SqliteKeys(SqlKeys):
    """The key table in its own SQLite file, deleted rows overwritten."""

    def __init__(self, path: Path) -> None:
        super().__init__("?")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.execute("pragma secure_delete = on")
        self.db.execute("pragma journal_mode = wal")  # one fsync per new key (a rollback journal takes three)
        self.db.execute("pragma synchronous = full")  # a key is durable before any event sealed with it
        self.db.execute(f"create table if not exists {self.table} ({_COLUMNS.format(blob='blob')})")

    def _all(self, sql: str, *args: str | bytes) -> list[Any]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def forget(self, account: str) -> int:
        """Destroy every key of ``account``, then checkpoint and truncate the WAL: the overwritten pages replace
        the old ones in the file and no frame of the WAL keeps the key."""
        count = super().forget(account)
        with self.lock:
            self.db.execute("pragma wal_checkpoint(truncate)")
        return count

    def close(self) -> None:
        """Release the connection."""
        self.db.close()


class PostgresKeys(SqlKeys):
    """The key table in the store's PostgreSQL schema (vacuumed after a forget)."""

    def __init__(self, dsn: str, schema: str) -> None:
        from ledger.store.postgres_factory import connect_directly

        super().__init__("%s")
        self.table = f'"{schema or "public"}".ledger_account_keys'
        self.conn = connect_directly(dsn)
        self.conn.execute(f"create table if not exists {self.table} ({_COLUMNS.format(blob='bytea')})")

    def _all(self, sql: str, *args: str | bytes) -> list[Any]:
        with self.lock:
            cursor = self.conn.execute(sql, args)
            return cursor.fetchall() if cursor.description else []

    def forget(self, account: str) -> int:
        """Destroy every key of ``account`` and vacuum the table, so the row's bytes leave its pages too."""
        count = super().forget(account)
        with self.lock:
            self.conn.execute(f"vacuum {self.table}")
        return count

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()
