"""The ``journal`` read model: double-entry postings of every money event and the trial balance."""

from __future__ import annotations

import sqlite3

from ledger.aggregates.events.base import Event
from ledger.double_entry import Journal
from ledger.projections.base import Meta, Projection, SqlValue

TABLES = (
    """create table if not exists postings (position integer not null, at text not null, account text not null,
        event text not null, currency text not null, ledger_account text not null, debit integer not null,
        credit integer not null)""",
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
    """Postings per event from :class:`ledger.double_entry.Journal`, whose small state is kept in the same file.

    Postings are keyed by log position (the audit log names the event at each position); the journal's state
    (invoice totals, payment sources and states, account currencies) is written once per batch for the keys
    the batch touched, so the next batch, or another process, continues from the file.
    """

    name = "journal"
    version = 2
    tables = TABLES

    def __init__(self) -> None:
        self._journal: Journal | None = None
        self._dirty_invoices: set[tuple[str, str]] = set()
        self._dirty_payments: set[tuple[str, str]] = set()
        self._dirty_currencies: set[str] = set()
        self._saved_currencies: set[str] = set()
        self._rows: list[tuple[SqlValue, ...]] = []

    def apply(self, event: Event, db: sqlite3.Connection, meta: Meta) -> None:
        """Post ``event``."""
        journal = self._journal or self._loaded(db)
        key = meta.account
        entry = journal.post(event, f"position {meta.position}", key)
        invoice_id = getattr(event, "invoice_id", None)
        if invoice_id is not None:
            self._dirty_invoices.add((key, invoice_id))
        payment_id = getattr(event, "payment_id", None)
        if payment_id is not None:
            self._dirty_payments.add((key, payment_id))
        if entry.postings:
            position, at, name, currency = meta.position, meta.at, type(event).__name__, entry.currency
            self._rows.extend((position, at, key, name, currency, p.account, p.debit, p.credit)
                              for p in entry.postings)
        if entry.currency and key not in self._saved_currencies:  # an aggregate's currency is set once
            self._saved_currencies.add(key)
            self._dirty_currencies.add(key)

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Insert the batch's postings and persist the journal's state that it changed."""
        db.executemany("insert into postings values (?, ?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._rows.clear()
        journal = self._journal or self._loaded(db)
        db.executemany("insert or replace into journal_invoices values (?, ?, ?)",
                       [(*k, journal.invoice_totals[k]) for k in self._dirty_invoices if k in journal.invoice_totals])
        db.executemany("insert or replace into journal_payments values (?, ?, ?, ?, ?)",
                       [(*k, *journal.payments[k]) for k in self._dirty_payments if k in journal.payments])
        db.executemany("insert or replace into journal_currencies values (?, ?)",
                       [(k, journal.currencies[k]) for k in self._dirty_currencies if k in journal.currencies])
        self._dirty_invoices.clear()
        self._dirty_payments.clear()
        self._dirty_currencies.clear()

    def _loaded(self, db: sqlite3.Connection) -> Journal:
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
        self._saved_currencies = set(journal.currencies)
        self._journal = journal
        return journal
