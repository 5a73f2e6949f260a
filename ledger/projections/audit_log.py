"""The ``audit`` read model: every event with time, actor, channel, account, what changed and a comment."""

from __future__ import annotations

import sqlite3

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.projections.base import Meta, Projection, SqlValue
from ledger.projections.describe import comment, details
from ledger.projections.schema import IndexSpec, Schema, SearchSpec, TableSpec

#: The audit trail, one row per event at its log position (the rowid), and the accounts it names.
LAYOUT = Schema(
    tables=[
        TableSpec("audit_log", {"position": int, "version": int, "at": str, "actor_kind": str, "actor_name": str,
                                "channel": str, "account": str, "account_id": str, "event": str, "comment": str,
                                "details": str}, ("position",),
                  frozenset({"version", "at", "actor_kind", "actor_name", "channel", "account", "event", "comment",
                             "details"})),
        TableSpec("audit_accounts", {"account": str, "account_id": str, "currency": str}, ("account",),
                  frozenset({"account_id", "currency"})),
    ],
    indexes=[
        IndexSpec("audit_by_account", "audit_log", ("account_id", "at")),
        IndexSpec("audit_by_actor", "audit_log", ("actor_name", "at")),
        IndexSpec("audit_by_time", "audit_log", ("at",)),
    ],
)
#: What ``ledger audit search`` finds: the comment (its words name the event: "Other – Payment Applied"), the
#: details (every reference: invoice, payment, credit and order ids, references, transaction ids, amounts),
#: who acted and through which channel, the event's type and the account.
SEARCH = SearchSpec("audit_log", ("comment", "details", "actor_kind", "actor_name", "channel", "event",
                                  "account_id"))


class AuditLogProjection(Projection):
    """One row per event, for CSRs ("who applied this payment?") and auditors.

    A row keeps the event's aggregate version, not its id: the id (``uuid5(aggregate, version)``) is derived
    when rows are read, which keeps a rebuild of millions of events from hashing each one.
    """

    name = "audit"
    version = 3
    layout = LAYOUT

    def __init__(self) -> None:
        self._accounts: dict[str, tuple[str, str]] = {}
        self._rows: list[tuple[SqlValue, ...]] = []

    def apply(self, event: Event, db: sqlite3.Connection, meta: Meta) -> None:
        """Record ``event``; accounts are learned from AccountOpened, unidentified payments have none."""
        key = meta.account
        if isinstance(event, ev.AccountOpened):
            db.execute("insert or replace into audit_accounts values (?, ?, ?)",
                       (key, event.account_id, event.currency))
            self._accounts[key] = (event.account_id, event.currency)
        account_id, currency = self._account(db, key, event)
        by = event.by
        self._rows.append((meta.position, event.originator_version, meta.at, by.kind, by.name, by.channel, key,
                           account_id, type(event).__name__, comment(event), details(event, currency)))

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Insert the batch's rows at once."""
        db.executemany("insert into audit_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._rows.clear()

    def _account(self, db: sqlite3.Connection, key: str, event: Event) -> tuple[str | None, str | None]:
        if key in self._accounts:
            return self._accounts[key]
        row = db.execute("select account_id, currency from audit_accounts where account = ?", (key,)).fetchone()
        if row is not None:
            self._accounts[key] = (row[0], row[1])
            return self._accounts[key]
        if isinstance(event, ev.PaymentReceivedUnidentified):
            return None, event.currency
        if isinstance(event, ev.LoginClaimed):  # the login's own aggregate: named by the account holding it
            return event.account_id, None
        return None, None
