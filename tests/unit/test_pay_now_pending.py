"""The Pay Now list (``account unpaid``) says what pending payments will pay on each invoice as the ledger decides
payments on it (issue 14, review findings 9 and 12): a distribution recorded before plans (PaymentSubmitted 2)
covers the oldest invoices the others leave due; one that planned nothing covers nothing."""

from __future__ import annotations

import sqlite3
from datetime import date
from uuid import uuid4

import msgspec

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.projections.accounts import AccountsProjection
from ledger.projections.base import MetaMaker
from ledger.projections.unpaid import unpaid
from tests.unit.test_account_payments import CTX, pay


def pay_now(events: list[ev.Event]) -> list[tuple[str, str, str]]:
    """(id, open, pending) of each Pay Now row once the accounts read model applied ``events``."""
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    projection = AccountsProjection()
    projection.schema(db)
    for meta, event in MetaMaker().batch(list(enumerate(events))):
        handler = projection.handler(type(event))
        if handler is not None:
            handler(event, db, meta)
    projection.finish_batch(db)
    return [(row["id"], row["open"], row["pending"]) for row in unpaid(db, "ACC1")]


def test_a_distribution_recorded_before_plans_shows_pending_on_the_oldest_invoices() -> None:
    account = Account.open(CTX, aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="a@example.com")
    for n, total in enumerate((1000, 2000, 500), start=1):
        account.issue_invoice(CTX, invoice=f"INV-{n}", total=total, issued_on=date(2026, 8, n),
                              due_on=date(2026, 9, n))
    events = account.collect_events()
    events += pay(account, "ACH0", 300, Instruction("explicit", (Line("invoice", "INV-1", 300),)), method="ach",
                  status="pending")
    events += pay(account, "ACH1", 1500, Instruction("distribute"), method="ach", status="pending")
    old = [msgspec.structs.replace(e, planned=None) if isinstance(e, ev.PaymentSubmitted) and e.payment_id == "ACH1"
           else e for e in events]  # as PaymentSubmitted 2 is read (upcast)
    account.state.payments["ACH1"].planned = None
    assert pay_now(old) == [("INV-1", "10.00", "10.00"), ("INV-2", "20.00", "8.00"), ("INV-3", "5.00", "0.00")]
    assert [account.state.pending_for("invoice", f"INV-{n}") for n in (1, 2, 3)] == [1000, 800, 0]


def test_a_distribution_that_planned_nothing_shows_nothing_pending() -> None:
    account = Account.open(CTX, aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="a@example.com")
    events = account.collect_events()
    events += pay(account, "ACH1", 5000, Instruction("distribute"), method="ach", status="pending")
    account.issue_invoice(CTX, invoice="INV-9", total=5000, issued_on=date(2026, 8, 1), due_on=date(2026, 9, 1))
    events += account.collect_events()
    assert pay_now(events) == [("INV-9", "50.00", "0.00")]
    assert account.state.pending_for("invoice", "INV-9") == 0
