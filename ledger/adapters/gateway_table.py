"""The gateway simulator's state: one SQLite table of every transaction it made (a file shared by several
processes, or memory), written one transaction at a time, replayed by idempotency key, and read back as the
gateway's list API shows a row and as the first answer given under its key.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from ledger.errors import Conflict
from ledger.ports.clock import Clock
from ledger.ports.gateway import ChargeResult, GatewayTransaction

MESSAGES = {
    "card_declined": "The card was declined.", "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.", "invalid_token": "The payment token is not valid.",
    "invalid_bank_account": "That token is not a bank account.", "unknown_transaction": "No such charge.",
    "authorization_not_supported": "Bank accounts cannot be authorized.", "unknown_authorization": "No such hold.",
    "authorization_voided": "The hold was released.", "authorization_expired": "The authorization has expired.",
    "amount_exceeds_authorization": "More than is left of the hold.", "refund_exceeds_charge": "More than is left.",
    "transaction_pending": "The debit has not settled yet.", "transaction_returned": "The bank returned the debit.",
}
_SCHEMA = """
create table if not exists gateway_transactions (
    id text primary key, idem_key text unique, kind text not null, request text not null, token text,
    amount integer not null, currency text, method text, status text not null, decline_code text,
    created_at text not null, expires_at text, parent text, used integer not null default 0,
    response text, return_code text
)
"""
# Files written before ``response`` (the first answer) and ``return_code`` existed: fill them from what is known.
_MIGRATION = (
    "alter table gateway_transactions add column response text",
    "alter table gateway_transactions add column return_code text",
    "update gateway_transactions set return_code = decline_code, decline_code = null"
    " where method = 'ach' and kind = 'charge' and status = 'returned'",
    "update gateway_transactions set response = case when method = 'ach' and kind = 'charge'"
    " and status != 'declined' then 'pending' when status = 'voided' then 'approved' else status end",
)


class GatewayTable:
    """The simulator's table of transactions and the clock that stamps them (see :class:`GatewaySimulator`)."""

    def __init__(self, clock: Clock, path: str | None = None) -> None:
        self.clock = clock
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        if path:
            self._db.execute("pragma journal_mode=wal")
        with self._transaction():
            self._db.execute(_SCHEMA)
            columns = {row["name"] for row in self._db.execute("pragma table_info(gateway_transactions)")}
            if "response" not in columns:
                for statement in _MIGRATION:
                    self._db.execute(statement)

    def close(self) -> None:
        """Release the database connection."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, serialised with other threads (the lock) and other processes (IMMEDIATE)."""
        with self._lock:
            self._db.execute("begin immediate")
            try:
                yield
            except BaseException:
                self._db.execute("rollback")
                raise
            self._db.execute("commit")

    def _replay(self, key: str, request: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("select * from gateway_transactions where idem_key = ?",
                                                   (key,)).fetchone()
        if row is not None and row["request"] != request:
            raise Conflict("this idempotency key was used for a different request", field="key",
                           code="idempotency_key_reused")
        return row

    def _insert(self, key: str, kind: str, request: str, **values: str | int | None) -> sqlite3.Row:
        txn = "txn_" + hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:24]
        columns = {"id": txn, "idem_key": key, "kind": kind, "request": request, "response": values["status"],
                   "created_at": self.clock.now().isoformat(), **values}
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self._db.execute(f"insert into gateway_transactions ({names}) values ({marks})", tuple(columns.values()))
        row = self._get(txn)
        assert row is not None
        return row

    def _get(self, transaction_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("select * from gateway_transactions where id = ?",
                                                   (transaction_id,)).fetchone()
        return row


def listed(row: sqlite3.Row, now: datetime) -> GatewayTransaction:
    """A row as the list API shows it."""
    live = (row["kind"] == "authorization" and row["status"] == "approved" and row["used"] < row["amount"]
            and now < datetime.fromisoformat(row["expires_at"]))
    return GatewayTransaction(transaction_id=row["id"], kind=row["kind"], idempotency_key=row["idem_key"],
                              amount=row["amount"], currency=row["currency"], status=row["status"],
                              created_at=datetime.fromisoformat(row["created_at"]), parent=row["parent"],
                              live=live, token=row["token"])


def charge_result(row: sqlite3.Row) -> ChargeResult:
    """The first answer given under the row's key (an ACH debit stays "pending" here; ask ``ach_status``)."""
    answer: str = row["response"]
    status: Literal["approved", "declined", "pending"] = (
        "declined" if answer == "declined" else "pending" if answer == "pending" else "approved")
    code: str | None = row["decline_code"]
    message = MESSAGES.get(code, code) if code else ("Pending at the bank." if status == "pending" else "Approved.")
    return ChargeResult(row["id"], status, code, message)

