"""The ``journal`` read model: double-entry postings of every money event and the trial balance."""

from __future__ import annotations

import sqlite3

from ledger.aggregates.events.base import Event
from ledger.double_entry import ACCOUNTS, Journal
from ledger.projections.base import Meta, Projection, SqlValue
from ledger.projections.schema import IndexSpec, Schema, TableSpec

#: Postings by log position, the journal's own state (invoice totals, payment sources and states, account
#: currencies) and the trial balance over the postings.
LAYOUT = Schema(
    tables=[
        TableSpec("postings", {"position": int, "at": str, "account": str, "event": str, "currency": str,
                               "ledger_account": str, "debit": int, "credit": int}, (),
                  frozenset({"position", "at", "account", "event", "currency", "ledger_account", "debit",
                             "credit"})),
        TableSpec("journal_invoices", {"account": str, "id": str, "total": int}, ("account", "id"),
                  frozenset({"account", "id", "total"})),
        TableSpec("journal_payments", {"account": str, "id": str, "amount": int, "source": str, "status": str},
                  ("account", "id"), frozenset({"account", "id", "amount", "source", "status"})),
        TableSpec("journal_currencies", {"account": str, "currency": str}, ("account",), frozenset({"currency"})),
        # sums as Python ints written in decimal: exact past 2**63 (ledger.projections.sums)
        TableSpec("trial_balance", {"currency": str, "ledger_account": str, "debit": str, "credit": str,
                                    "balance": str}, ("currency", "ledger_account"),
                  frozenset({"debit", "credit", "balance"})),
    ],
    indexes=[
        IndexSpec("postings_by_position", "postings", ("position",)),
        IndexSpec("postings_by_account", "postings", ("account", "position")),
    ],
)


def trial_balance(db: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """The debit-positive balance of every ledger account per currency, as :meth:`Journal.trial_balances`."""
    out: dict[str, dict[str, int]] = {}
    for currency, ledger_account, balance in db.execute(
            "select currency, ledger_account, balance from trial_balance order by currency"):
        out.setdefault(currency, dict.fromkeys(ACCOUNTS, 0))[ledger_account] = int(balance)
    return out


class JournalProjection(Projection):
    """Postings per event from :class:`ledger.double_entry.Journal`, whose small state is kept in the same file.

    Postings are keyed by log position (the audit log names the event at each position); the journal's state
    (invoice totals, payment sources and states, account currencies) is written once per batch for the keys
    the batch touched, so the next batch, or another process, continues from the file.
    """

    name = "journal"
    version = 3
    layout = LAYOUT

    def __init__(self) -> None:
        self._journal: Journal | None = None
        self._dirty_invoices: set[tuple[str, str]] = set()
        self._dirty_payments: set[tuple[str, str]] = set()
        self._dirty_currencies: set[str] = set()
        self._saved_currencies: set[str] = set()
        self._rows: list[tuple[SqlValue, ...]] = []
        self._sums: dict[tuple[str, str], list[int]] = {}  # (currency, ledger account) -> [debit, credit]
        self._dirty_sums: set[tuple[str, str]] = set()

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
            for p in entry.postings:
                sums = self._sums.setdefault((currency, p.account), [0, 0])
                sums[0] += p.debit
                sums[1] += p.credit
                self._dirty_sums.add((currency, p.account))
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
        db.executemany("insert or replace into trial_balance values (?, ?, ?, ?, ?)",
                       [(*k, str(debit), str(credit), str(debit - credit))
                        for k in self._dirty_sums for debit, credit in (self._sums[k],)])
        self._dirty_invoices.clear()
        self._dirty_payments.clear()
        self._dirty_currencies.clear()
        self._dirty_sums.clear()

    def _loaded(self, db: sqlite3.Connection) -> Journal:
        journal = Journal()
        for acc, inv, total in db.execute("select account, id, total from journal_invoices"):
            journal.invoice_totals[(acc, inv)] = total
        for acc, pid, amount, source, status in db.execute(
                "select account, id, amount, source, status from journal_payments"):
            journal.payments[(acc, pid)] = (amount, source, status)
        self._sums.clear()
        for currency, ledger_account, debit, credit in db.execute(
                "select currency, ledger_account, debit, credit from trial_balance"):
            self._sums[(currency, ledger_account)] = [int(debit), int(credit)]
            journal.balances[(currency, ledger_account)] = int(debit) - int(credit)
        for account, currency in db.execute("select account, currency from journal_currencies"):
            journal.currencies[account] = currency
        self._saved_currencies = set(journal.currencies)
        self._journal = journal
        return journal
