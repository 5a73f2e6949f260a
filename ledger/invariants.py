"""The ledger's invariants (DESIGN.md), checked over any history of events.

Used by the property tests on random histories and by ``ledger audit verify`` on the real log. Each check
recomputes from the events themselves, never trusting the aggregate's own counters.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from ledger.aggregates import events as ev
from ledger.aggregates.account import Account
from ledger.aggregates.amount_due import amount_due
from ledger.aggregates.events.base import Event
from ledger.double_entry import Journal
from ledger.money import format_amount


@dataclass(slots=True)
class PaymentTally:
    """Where one payment's money went, summed from its events (invariant 1, conservation)."""

    amount: int
    status: str = "pending"
    applied: int = 0
    credited: int = 0
    refunded: int = 0


class InvariantChecker:
    """Folds events (all accounts, log order) and collects every violation it sees."""

    def __init__(self) -> None:
        self.accounts: dict[UUID, Account] = {}
        self.journal = Journal()
        self.violations: list[str] = []
        self.payments: dict[tuple[UUID, str], PaymentTally] = {}
        self.credit_funding: dict[tuple[UUID, str], str | None] = {}

    def feed(self, events: Iterable[Event]) -> None:
        """Check and fold ``events``."""
        for event in events:
            try:
                self._check_before(event)
                self._fold(event)
            except (KeyError, AttributeError, AssertionError, TypeError) as error:
                self.violations.append(f"{type(event).__name__} {getattr(event, 'event_id', '?')} cannot follow "
                                       f"the history before it ({type(error).__name__}: {error})")

    def _fold(self, event: Event) -> None:
        key = event.originator_id
        if isinstance(event, ev.AccountOpened):
            self.accounts[key] = Account.projector(None, [event])
        elif key in self.accounts:
            self.accounts[key].mutate(event)
        entry = self.journal.post(event)
        if not entry.balanced:
            self.violations.append(f"unbalanced journal entry for {entry.event} {entry.event_id}")
        self._track_payment(event)
        if isinstance(event, ev.Event) and key in self.accounts:
            for inv in self.accounts[key].state.invoices.values():
                if inv.paid > inv.total or inv.paid < 0:
                    who, cash = self._named(key)
                    self.violations.append(f"{who} invoice {inv.id} paid {cash(inv.paid)} of {cash(inv.total)}")

    def _check_before(self, event: Event) -> None:
        """Oldest first: a distributed application may not skip an older invoice with money due beyond what pending
        payments will pay (issue 14), unless it pays what the payment planned while it was pending."""
        if isinstance(event, ev.PaymentApplied) and event.distributed and event.target_kind == "invoice":
            state = self.accounts[event.originator_id].state
            target = state.invoices[event.target_id]
            if any(line.target_id == target.id for line in state.payments[event.payment_id].planned or ()):
                return
            for inv in state.invoices.values():
                older = (inv.issued_on, inv.sequence) < (target.issued_on, target.sequence)
                if older and inv.open > 0 and amount_due(state, "invoice", inv.id) > 0:  # never more than open
                    self.violations.append(f"{event.payment_id} paid {target.id} while older {inv.id} was open")

    def _track_payment(self, e: Event) -> None:
        acc = e.originator_id
        if isinstance(e, ev.PaymentSubmitted):
            self.payments[(acc, e.payment_id)] = PaymentTally(e.amount)
        elif isinstance(e, ev.PaymentSettled | ev.PaymentDeclined | ev.PaymentReturned):
            status = {"PaymentSettled": "settled", "PaymentDeclined": "declined", "PaymentReturned": "returned"}
            self.payments[(acc, e.payment_id)].status = status[type(e).__name__]
        elif isinstance(e, ev.PaymentApplied):
            self.payments[(acc, e.payment_id)].applied += e.amount
        elif isinstance(e, ev.PaymentUnapplied):
            self.payments[(acc, e.payment_id)].applied -= e.amount
        elif isinstance(e, ev.PaymentDeposited):
            self.payments[(acc, e.payment_id)].credited += e.amount
            self.credit_funding[(acc, e.credit_id)] = e.payment_id
        elif isinstance(e, ev.CreditIssued):
            self.credit_funding[(acc, e.credit_id)] = e.payment_id
            if e.payment_id is not None:
                self.payments[(acc, e.payment_id)].credited += e.amount
        elif isinstance(e, ev.CreditReversed):
            funder = self.credit_funding.get((acc, e.credit_id))
            if funder is not None:
                self.payments[(acc, funder)].credited -= e.amount
        elif isinstance(e, ev.PaymentRefunded):
            self.payments[(acc, e.payment_id)].refunded += e.amount

    def check(self) -> list[str]:
        """Every violation so far plus the end-of-history checks (conservation, double entry), amounts in the
        account's currency and accounts by their id, as finance reads them."""
        found = list(self.violations)
        for (key, pid), tally in self.payments.items():
            amount, status, applied, credited, refunded = (tally.amount, tally.status, tally.applied, tally.credited,
                                                           tally.refunded)
            who, cash = self._named(key)
            if status == "settled" and applied + credited + refunded != amount:
                found.append(f"{who} payment {pid}: applied {cash(applied)} + credited {cash(credited)} + refunded "
                             f"{cash(refunded)} != amount {cash(amount)}")
            if status in ("pending", "declined", "returned") and (applied, credited, refunded) != (0, 0, 0):
                found.append(f"{who} payment {pid} is {status} but moved money")
            if min(applied, credited) < 0:
                found.append(f"{who} payment {pid} has negative applied/credited amounts")
        found += self._check_balances()
        return found

    def _named(self, key: UUID) -> tuple[str, Callable[[int], str]]:
        """("account ACC1", amount formatter) of an aggregate (its UUID and minor units when never opened)."""
        account = self.accounts.get(key)
        if account is None:
            return f"aggregate {key}", str
        currency = account.state.currency
        return f"account {account.state.account_id}", lambda minor: _cash(minor, currency)

    def _check_balances(self) -> list[str]:
        found: list[str] = []
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for account in self.accounts.values():
            s = account.state
            totals[s.currency]["receivables"] += s.balance
            totals[s.currency]["customer_credits"] += s.credit_balance
            totals[s.currency]["order_deposits"] += sum(o.paid for o in s.orders.values())
            for c in s.credits.values():
                if c.remaining < 0 or c.remaining > c.amount:
                    found.append(f"account {s.account_id} credit {c.id} remaining {_cash(c.remaining, s.currency)} "
                                 f"of {_cash(c.amount, s.currency)}")
        for currency in sorted(set(totals) | set(self.journal.trial_balances())):
            tb = self.journal.trial_balance(currency)
            held = totals[currency]
            cash = functools.partial(_cash, currency=currency)
            if sum(tb.values()) != 0:
                found.append(f"{currency} trial balance does not sum to zero: {tb}")
            if tb["receivables"] != held["receivables"]:
                found.append(f"receivables {cash(tb['receivables'])} != open invoices {cash(held['receivables'])}")
            if -tb["customer_credits"] != held["customer_credits"]:
                found.append(f"customer credits {cash(-tb['customer_credits'])} != open credits "
                             f"{cash(held['customer_credits'])}")
            if -tb["order_deposits"] != held["order_deposits"]:
                found.append(f"order deposits {cash(-tb['order_deposits'])} != paid on orders "
                             f"{cash(held['order_deposits'])}")
            if tb["unapplied_cash"] != 0:
                found.append(f"unapplied cash left over: {cash(-tb['unapplied_cash'])}")
        return found


def _cash(minor: int, currency: str) -> str:
    """An amount as finance reads it: ``150.00 USD``."""
    return format_amount(minor, currency, with_currency=True)


def violations(events: Iterable[Event]) -> list[str]:
    """All invariant violations of a history (empty when it is sound)."""
    checker = InvariantChecker()
    checker.feed(events)
    return checker.check()
