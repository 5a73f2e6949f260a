"""Double-entry postings for every money event (DESIGN invariant 4).

A :class:`Journal` folds events in log order and yields balanced :class:`Entry` objects: total debits equal
total credits, receivables equal the open invoice balances, customer credits equal the open credits.

Chart of accounts:

| account | kind | moved by |
| --- | --- | --- |
| cash | asset | settled payments, refunds, ACH returns |
| receivables | asset | invoices issued/adjusted/voided, applications to invoices |
| suspense | liability | guest payments awaiting research, until matched |
| unapplied_cash | liability | settled money not yet applied (zero after every command) |
| customer_credits | liability | overpayments, deposits and memo credits, until spent or refunded |
| order_deposits | liability | money applied to orders not yet invoiced |
| revenue | income | invoices |
| sales_allowances | contra-income | credit memos |
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ledger.aggregates import events as ev

ACCOUNTS = ("cash", "receivables", "suspense", "unapplied_cash", "customer_credits", "order_deposits", "revenue",
            "sales_allowances")


class Posting(msgspec.Struct, frozen=True):
    account: str
    debit: int = 0
    credit: int = 0


class Entry(msgspec.Struct, frozen=True):
    """The postings of one event, in the currency of its account."""

    event_id: str
    event: str
    postings: tuple[Posting, ...]
    currency: str = ""

    @property
    def balanced(self) -> bool:
        """Debits equal credits."""
        return sum(p.debit for p in self.postings) == sum(p.credit for p in self.postings)


def _move(debit: str, credit: str, amount: int) -> tuple[Posting, ...]:
    if amount == 0:
        return ()
    if amount < 0:
        debit, credit, amount = credit, debit, -amount
    return (Posting(debit, debit=amount), Posting(credit, credit=amount))


def _holder(kind: str) -> str:
    return "receivables" if kind == "invoice" else "order_deposits"


class Journal:
    """Folds events into entries; keeps what it needs (invoice totals, payment sources and states)."""

    def __init__(self) -> None:
        self.invoice_totals: dict[tuple[str, str], int] = {}
        self.payments: dict[tuple[str, str], tuple[int, str, str]] = {}  # amount, debit account, status
        self.currencies: dict[str, str] = {}
        self.balances: dict[tuple[str, str], int] = {}  # (currency, account) -> debit-positive balance

    def post(self, event: ev.Event, event_id: str | None = None) -> Entry:
        """The entry for ``event`` (possibly with no postings), also added to the running balances."""
        key = str(event.originator_id)
        if isinstance(event, ev.AccountOpened | ev.PaymentReceivedUnidentified):
            self.currencies[key] = event.currency
        currency = self.currencies.get(key, "")
        postings = self._postings(event)
        for p in postings:
            self.balances[(currency, p.account)] = self.balances.get((currency, p.account), 0) + p.debit - p.credit
        return Entry(event_id or event.event_id, type(event).__name__, postings, currency)

    def post_all(self, events: Iterable[ev.Event]) -> list[Entry]:
        """Entries of many events, in order."""
        return [self.post(e) for e in events]

    def _postings(self, e: ev.Event) -> tuple[Posting, ...]:
        acc = str(e.originator_id)
        if isinstance(e, ev.InvoiceIssued):
            self.invoice_totals[(acc, e.invoice_id)] = e.total
            return _move("receivables", "revenue", e.total)
        if isinstance(e, ev.InvoiceAdjusted):
            self.invoice_totals[(acc, e.invoice_id)] = e.new_total
            return _move("receivables", "revenue", e.new_total - e.old_total)
        if isinstance(e, ev.InvoiceVoided):
            return _move("revenue", "receivables", self.invoice_totals[(acc, e.invoice_id)])
        if isinstance(e, ev.PaymentSubmitted):
            source = "suspense" if (e.source or "").startswith("research:") else "cash"
            self.payments[(acc, e.payment_id)] = (e.amount, source, "pending")
            return ()
        if isinstance(e, ev.PaymentSettled):
            amount, source, _ = self.payments[(acc, e.payment_id)]
            self.payments[(acc, e.payment_id)] = (amount, source, "settled")
            return _move(source, "unapplied_cash", amount)
        if isinstance(e, ev.PaymentReturned):
            amount, source, status = self.payments[(acc, e.payment_id)]
            self.payments[(acc, e.payment_id)] = (amount, source, "returned")
            return _move("unapplied_cash", "cash", amount) if status == "settled" else ()
        if isinstance(e, ev.PaymentRefunded):
            return _move("unapplied_cash", "cash", e.amount)
        if isinstance(e, ev.PaymentApplied):
            return _move("unapplied_cash", _holder(e.target_kind), e.amount)
        if isinstance(e, ev.PaymentUnapplied):
            return _move(_holder(e.target_kind), "unapplied_cash", e.amount)
        if isinstance(e, ev.PaymentDeposited):
            return _move("unapplied_cash", "customer_credits", e.amount)
        if isinstance(e, ev.CreditIssued):
            funded_by = "sales_allowances" if e.payment_id is None else "unapplied_cash"
            return _move(funded_by, "customer_credits", e.amount)
        if isinstance(e, ev.CreditApplied):
            return _move("customer_credits", _holder(e.target_kind), e.amount)
        if isinstance(e, ev.CreditUnapplied):
            return _move(_holder(e.target_kind), "customer_credits", e.amount)
        if isinstance(e, ev.CreditReversed):
            return _move("customer_credits", "unapplied_cash", e.amount)
        if isinstance(e, ev.CreditRefunded):
            return _move("customer_credits", "cash", e.amount)
        if isinstance(e, ev.PaymentReceivedUnidentified):
            return _move("cash", "suspense", e.amount)
        return ()

    def trial_balance(self, currency: str | None = None) -> dict[str, int]:
        """Debit-positive balance of every account (of one currency, or summed); they sum to zero."""
        out = dict.fromkeys(ACCOUNTS, 0)
        for (cur, account), balance in self.balances.items():
            if currency is None or cur == currency:
                out[account] += balance
        return out

    def trial_balances(self) -> dict[str, dict[str, int]]:
        """The trial balance of each currency."""
        return {cur: self.trial_balance(cur) for cur in sorted({c for c, _ in self.balances})}
