"""The ``journal`` read model: double-entry postings of every money event and the trial balance."""

from __future__ import annotations

import sqlite3
from typing import Any

from ledger.journal import Journal
from ledger.projections.base import Meta, Projection

TABLES = (
    """create table if not exists postings (position integer not null, event_id text not null, at text not null,
        account text not null, event text not null, currency text not null, ledger_account text not null,
        debit integer not null, credit integer not null)""",
    "create index if not exists postings_by_position on postings (position)",
    "create index if not exists postings_by_account on postings (account, position)",
    """create table if not exists journal_invoices (account text not null, id text not null,
        total integer not null, primary key (account, id))""",
    """create table if not exists journal_payments (account text not null, id text not null,
        amount integer not null, source text not null, status text not null, primary key (account, id))""",
    """create table if not exists journal_currencies (account text primary key, currency text not null)""",
    """create view if not exists trial_balance as select currency, ledger_account, sum(debit) as debit,
        sum(credit) as credit, sum(debit) - sum(credit) as balance from postings
        group by currency, ledger_account""",
)


class JournalProjection(Projection):
    """Postings per event from :class:`ledger.journal.Journal`, whose small state is kept in the same file."""

    name = "journal"
    version = 1
    tables = TABLES

    def __init__(self) -> None:
        self._journal: Journal | None = None
        self._dirty_invoices: set[tuple[str, str]] = set()
        self._dirty_payments: set[tuple[str, str]] = set()
        self._rows: list[tuple[Any, ...]] = []

    def apply(self, event: Any, db: sqlite3.Connection, meta: Meta) -> None:
        """Post ``event``."""
        journal = self._loaded(db)
        entry = journal.post(event, meta.event_id)
        key = meta.account
        for attr, dirty in (("invoice_id", self._dirty_invoices), ("payment_id", self._dirty_payments)):
            if hasattr(event, attr):
                dirty.add((key, getattr(event, attr)))
        if entry.postings:
            name = type(event).__name__
            self._rows.extend((meta.position, meta.event_id, meta.at, key, name, entry.currency, p.account, p.debit,
                               p.credit) for p in entry.postings)
        if hasattr(event, "currency") and key in journal.currencies:
            db.execute("insert or replace into journal_currencies values (?, ?)", (key, journal.currencies[key]))

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Insert the batch's postings and persist the journal's state that it changed."""
        db.executemany("insert into postings values (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._rows.clear()
        journal = self._loaded(db)
        rows = [(acc, inv, journal.invoice_totals[(acc, inv)]) for acc, inv in self._dirty_invoices
                if (acc, inv) in journal.invoice_totals]
        db.executemany("insert or replace into journal_invoices values (?, ?, ?)", rows)
        rows2 = [(acc, pid, *journal.payments[(acc, pid)]) for acc, pid in self._dirty_payments
                 if (acc, pid) in journal.payments]
        db.executemany("insert or replace into journal_payments values (?, ?, ?, ?, ?)", rows2)
        self._dirty_invoices.clear()
        self._dirty_payments.clear()

    def _loaded(self, db: sqlite3.Connection) -> Journal:
        if self._journal is None:
            journal = Journal()
            for acc, inv, total in db.execute("select account, id, total from journal_invoices"):
                journal.invoice_totals[(acc, inv)] = total
            for acc, pid, amount, source, status in db.execute(
                    "select account, id, amount, source, status from journal_payments"):
                journal.payments[(acc, pid)] = (amount, source, status)
            for currency, ledger_account, balance in db.execute(
                    "select currency, ledger_account, balance from trial_balance"):
                journal.balances[(currency, ledger_account)] = balance
            for account, currency in db.execute("select account, currency from journal_currencies"):
                journal.currencies[account] = currency
            self._journal = journal
        return self._journal
