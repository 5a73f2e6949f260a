"""A seeded generator of realistic ledger histories for benchmarks.

Thousands of accounts; invoices (some adjusted or voided); card, PayPal and ACH payments (explicit and
distributed, some declined, some ACH returned, some refunded); credit memos; orders with 29-day card
authorizations, some reauthorized and replaced, captured or voided. Events go through the real aggregate
decisions and are saved in batches with the real store. Only ``resident`` accounts stay in memory (the least
recently used are reloaded from the store when drawn again), so generating a million events stays small.

    HistoryGenerator(store, seed=7, accounts=2000).run(1_000_000)
"""

from __future__ import annotations

import random
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.errors import LedgerError
from ledger.ports.ids import account_uuid

START = datetime(2026, 1, 1, 14, tzinfo=UTC)
ACTORS = (ev.Actor("customer", "portal", "portal"), ev.Actor("csr", "jdoe", "csr"), ev.Actor("system", "system",
                                                                                              "system"))


class HistoryGenerator:
    """Writes about ``target`` events into ``store``; deterministic for a given seed."""

    def __init__(self, store: Any, seed: int = 7, accounts: int = 2000, resident: int = 200) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.accounts = accounts
        self.resident = resident
        self.now = START
        self.counter = 0
        self.opened: set[int] = set()

    def ctx(self) -> ev.Context:
        self.now += timedelta(seconds=self.rng.randint(1, 90))
        return ev.Context(at=self.now, by=self.rng.choice(ACTORS))

    def run(self, target: int, progress: Any = None) -> int:
        """Generate until at least ``target`` events are stored; returns the number written."""
        written = 0
        live: OrderedDict[int, Account] = OrderedDict()
        while written < target:
            index = self.rng.randrange(self.accounts)
            account = live.get(index) or self.account(index)
            live[index] = account
            live.move_to_end(index)
            if len(live) > self.resident:
                live.popitem(last=False)
            for _ in range(self.rng.randint(5, 20)):
                self.step(account)
            count = len(account.pending_events)
            self.store.save(account)  # the aggregate, not its events: the store snapshots long histories
            written += count
            if progress is not None:
                progress(count)
        return written

    def account(self, index: int) -> Account:
        """Account number ``index``: opened on first use, later reloaded from the store."""
        account_id = f"GEN{index:06d}"
        if index in self.opened:
            found: Account = self.store.account(account_uuid(account_id))
            return found
        self.opened.add(index)
        return Account.open(self.ctx(), aggregate_id=account_uuid(account_id), account_id=account_id,
                            currency="USD", email=f"{account_id.lower()}@example.com")

    def step(self, account: Account) -> None:
        """One random business action; refusals are part of life and write nothing."""
        self.counter += 1
        n, rng, s = self.counter, self.rng, account.state
        roll = rng.random()
        try:
            if roll < 0.35 or not s.invoices:
                day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
                account.issue_invoice(self.ctx(), invoice=f"I{n}", total=rng.randint(1_000, 90_000),
                                      issued_on=day, due_on=day + timedelta(days=30))
            elif roll < 0.70:
                self.pay(account, n)
            elif roll < 0.78:
                pending = [p.id for p in s.payments.values() if p.status == "pending"]
                if pending:
                    pid = rng.choice(pending)
                    if rng.random() < 0.85:
                        account.settle_payment(self.ctx(), payment=pid)
                    else:
                        account.return_payment(self.ctx(), payment=pid)
            elif roll < 0.82:
                account.issue_credit(self.ctx(), credit=f"C{n}", amount=rng.randint(500, 5_000),
                                     reference="goodwill")
            elif roll < 0.86:
                self.correct(account, n)
            else:
                self.order(account, n)
        except LedgerError:
            pass

    def pay(self, account: Account, n: int) -> None:
        rng = self.rng
        method = rng.choice(("card", "card", "card", "paypal", "ach"))
        open_invoices = account.state.open_invoices()
        amount = rng.randint(1_000, 60_000)
        if open_invoices and rng.random() < 0.5:
            target = rng.choice(open_invoices)
            amount = min(amount, target.open) if rng.random() < 0.8 else amount
            instruction = Instruction("explicit", (Line("invoice", target.id, amount),))
        else:  # most customers pay what they owe: the oldest one to three invoices in full, or a round sum
            instruction = Instruction("distribute")
            if open_invoices and rng.random() < 0.6:
                amount = sum(invoice.open for invoice in open_invoices[:rng.randint(1, 3)])
        status = "pending" if method == "ach" else ("declined" if rng.random() < 0.05 else "approved")
        account.record_payment(self.ctx(), payment=f"P{n}", amount=amount, method=method,  # type: ignore[arg-type]
                               token=f"tok_{method}", transaction_id=f"txn_{n:024d}", status=status,
                               decline_code="card_declined" if status == "declined" else None,
                               idempotency_key=f"k{n}", request_hash="h", instruction=instruction)

    def correct(self, account: Account, n: int) -> None:
        """After-the-fact corrections: a refund, an invoice adjusted upwards, or an invoice voided."""
        rng, s = self.rng, account.state
        roll = rng.random()
        settled = [p for p in s.payments.values() if p.status == "settled" and p.refunded < p.amount]
        if roll < 0.4 and settled:
            payment = rng.choice(settled)
            amount = min(account.refundable(payment), rng.randint(100, 5_000))
            if amount > 0:
                account.refund_payment(self.ctx(), payment=payment.id, amount=amount,
                                       refund_transaction_id=f"txr_{n}", idempotency_key=f"r{n}")
        elif s.open_invoices():
            invoice = rng.choice(s.open_invoices())
            if roll < 0.8:
                account.adjust_invoice(self.ctx(), invoice=invoice.id, new_total=invoice.total + 500,
                                       reason="late fee")
            else:
                account.void_invoice(self.ctx(), invoice=invoice.id, reason="issued in error")

    def order(self, account: Account, n: int) -> None:
        rng = self.rng
        amount = rng.randint(5_000, 200_000)
        account.place_order(self.ctx(), order=f"O{n}", amount=amount, channel=rng.choice(("web", "pos", "phone")))
        account.authorize_card(self.ctx(), authorization=f"A{n}", order=f"O{n}", amount=amount,
                               token="tok_visa", transaction_id=f"txa_{n}")
        if rng.random() < 0.3:
            account.record_reauthorization(self.ctx(), authorization=f"A{n}", new_authorization=f"A{n}b",
                                           amount=amount + 1_000, status="approved", transaction_id=f"txb_{n}",
                                           decline_code=None)
            account.replace_order(self.ctx(), order=f"O{n}", new_order=f"O{n}b", amount=amount + 1_000)
        elif rng.random() < 0.1:
            account.void_authorization(self.ctx(), authorization=f"A{n}", reason="customer cancelled")
        elif rng.random() < 0.5:
            account.capture_authorization(self.ctx(), authorization=f"A{n}", payment=f"CAP{n}", amount=amount,
                                          transaction_id=f"txc_{n}", idempotency_key=f"cap{n}", request_hash="h",
                                          method="card")

