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

from collections.abc import Callable, Iterable
from typing import Any

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


#: The posting rule of each money event type: ``rule(journal, account key, event) -> postings``.
Rule = Callable[["Journal", str, Any], tuple[Posting, ...]]
RULES: dict[type, Rule] = {}


def rule(*event_types: type) -> Callable[[Rule], Rule]:
    """Register the posting rule of ``event_types``."""
    def register(function: Rule) -> Rule:
        for event_type in event_types:
            RULES[event_type] = function
        return function
    return register


class Journal:
    """Folds events into entries; keeps what it needs (invoice totals, payment sources and states)."""

    def __init__(self) -> None:
        self.invoice_totals: dict[tuple[str, str], int] = {}
        self.payments: dict[tuple[str, str], tuple[int, str, str]] = {}  # amount, debit account, status
        self.currencies: dict[str, str] = {}
        self.balances: dict[tuple[str, str], int] = {}  # (currency, account) -> debit-positive balance

    def post(self, event: ev.Event, event_id: str | None = None, account: str | None = None) -> Entry:
        """The entry for ``event`` (possibly with no postings), also added to the running balances.

        ``account`` is the text of the event's aggregate id when the caller has it already.
        """
        key = account or str(event.originator_id)
        if isinstance(event, ev.AccountOpened | ev.PaymentReceivedUnidentified):
            self.currencies[key] = event.currency
        currency = self.currencies.get(key, "")
        posting_rule = RULES.get(type(event))
        postings = posting_rule(self, key, event) if posting_rule is not None else ()
        balances = self.balances
        for p in postings:
            balances[(currency, p.account)] = balances.get((currency, p.account), 0) + p.debit - p.credit
        return Entry(event_id or event.event_id, type(event).__name__, postings, currency)

    def post_all(self, events: Iterable[ev.Event]) -> list[Entry]:
        """Entries of many events, in order."""
        return [self.post(e) for e in events]

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


@rule(ev.InvoiceIssued)
def _(journal: Journal, acc: str, e: ev.InvoiceIssued) -> tuple[Posting, ...]:
    journal.invoice_totals[(acc, e.invoice_id)] = e.total
    return _move("receivables", "revenue", e.total)


@rule(ev.InvoiceAdjusted)
def _(journal: Journal, acc: str, e: ev.InvoiceAdjusted) -> tuple[Posting, ...]:
    journal.invoice_totals[(acc, e.invoice_id)] = e.new_total
    return _move("receivables", "revenue", e.new_total - e.old_total)


@rule(ev.InvoiceVoided)
def _(journal: Journal, acc: str, e: ev.InvoiceVoided) -> tuple[Posting, ...]:
    return _move("revenue", "receivables", journal.invoice_totals[(acc, e.invoice_id)])


@rule(ev.PaymentSubmitted)
def _(journal: Journal, acc: str, e: ev.PaymentSubmitted) -> tuple[Posting, ...]:
    source = "suspense" if (e.source or "").startswith("research:") else "cash"
    journal.payments[(acc, e.payment_id)] = (e.amount, source, "pending")
    return ()


@rule(ev.PaymentSettled)
def _(journal: Journal, acc: str, e: ev.PaymentSettled) -> tuple[Posting, ...]:
    amount, source, _ = journal.payments[(acc, e.payment_id)]
    journal.payments[(acc, e.payment_id)] = (amount, source, "settled")
    return _move(source, "unapplied_cash", amount)


@rule(ev.PaymentReturned)
def _(journal: Journal, acc: str, e: ev.PaymentReturned) -> tuple[Posting, ...]:
    amount, source, status = journal.payments[(acc, e.payment_id)]
    journal.payments[(acc, e.payment_id)] = (amount, source, "returned")
    return _move("unapplied_cash", "cash", amount) if status == "settled" else ()


@rule(ev.CreditIssued)
def _(journal: Journal, acc: str, e: ev.CreditIssued) -> tuple[Posting, ...]:
    funded_by = "sales_allowances" if e.payment_id is None else "unapplied_cash"
    return _move(funded_by, "customer_credits", e.amount)


#: Events that move their ``amount`` between two fixed ledger accounts: (debit, credit).
FIXED_MOVES: dict[type, tuple[str, str]] = {
    ev.PaymentRefunded: ("unapplied_cash", "cash"),
    ev.PaymentDeposited: ("unapplied_cash", "customer_credits"),
    ev.CreditReversed: ("customer_credits", "unapplied_cash"),
    ev.CreditRefunded: ("customer_credits", "cash"),
    ev.PaymentReceivedUnidentified: ("cash", "suspense"),
}
#: Applications move money from their source's ledger account to the target's holder; unapplications back.
APPLIED_FROM: dict[type, str] = {ev.PaymentApplied: "unapplied_cash", ev.CreditApplied: "customer_credits"}
UNAPPLIED_TO: dict[type, str] = {ev.PaymentUnapplied: "unapplied_cash", ev.CreditUnapplied: "customer_credits"}


#: The events of FIXED_MOVES, APPLIED_FROM and UNAPPLIED_TO.
FixedMove = (ev.PaymentRefunded | ev.PaymentDeposited | ev.CreditReversed | ev.CreditRefunded
             | ev.PaymentReceivedUnidentified)
Application = ev.PaymentApplied | ev.CreditApplied
Unapplication = ev.PaymentUnapplied | ev.CreditUnapplied


def _fixed(journal: Journal, acc: str, e: FixedMove) -> tuple[Posting, ...]:
    debit, credit = FIXED_MOVES[type(e)]
    return _move(debit, credit, e.amount)


def _applied(journal: Journal, acc: str, e: Application) -> tuple[Posting, ...]:
    return _move(APPLIED_FROM[type(e)], _holder(e.target_kind), e.amount)


def _unapplied(journal: Journal, acc: str, e: Unapplication) -> tuple[Posting, ...]:
    return _move(_holder(e.target_kind), UNAPPLIED_TO[type(e)], e.amount)


rule(*FIXED_MOVES)(_fixed)
rule(*APPLIED_FROM)(_applied)
rule(*UNAPPLIED_TO)(_unapplied)
