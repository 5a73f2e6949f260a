"""Seed 004's reauthorization rules through the service and the orders worker (real SQLite, gateway simulator).

"Upon checkout in eCommerce, the credit card will be authorized for the new amount"; "If the price on the
original quote or order has gone up, ... the old order will be canceled and the new order will be created".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import PolicyViolation
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger
from workers.orders import OrdersWorker


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    built = make_ledger(tmp_path)
    built.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    built.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    yield built  # type: ignore[misc]
    built.close()


def state(ledger: Ledger) -> Any:
    return ledger.store.account(account_uuid("ACC1")).state


def events(ledger: Ledger) -> list[Any]:
    return [ledger.store.mapper.to_domain_event(n)
            for n in ledger.store.recorder.select_notifications(start=1, limit=10_000)]


async def run_orders_worker(ledger: Ledger) -> None:
    """Hand the orders worker every event of the account, as the NATS consumer would, in order."""
    worker = OrdersWorker(ledger.store, ledger.service)
    for event in events(ledger):
        await worker.handle(event, str(event.event_id))


def reauthorize(ledger: Ledger, amount: str | None = None, old: str = "A1", new: str = "A2") -> None:
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization=old))
    ledger.service.handle(m.Reauthorize(account="ACC1", authorization=old, new_authorization=new, amount=amount))


def test_a_hold_is_refused_beyond_the_balance_due(ledger: Ledger) -> None:
    with pytest.raises(PolicyViolation) as refused:
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.01",
                                              token="tok_visa"))
    assert (refused.value.code, refused.value.field) == ("exceeds_amount_due", "amount")
    assert "A1" not in state(ledger).authorizations


async def test_a_price_rise_replaces_the_order_at_the_approved_price(ledger: Ledger) -> None:
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="40.00", method="card",
                                          token="tok_visa", orders={"O1": "40.00"}))
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="60.00",
                                          token="tok_visa"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    reauthorize(ledger)
    assert state(ledger).authorizations["A2"].amount == 11000  # the balance due, not the price
    await run_orders_worker(ledger)
    orders = state(ledger).orders
    assert (orders["O1"].status, orders["O1"].replaced_by) == ("replaced", "O1-A2")
    assert (orders["O1-A2"].amount, orders["O1-A2"].paid) == (15000, 4000)
    assert state(ledger).authorizations["A2"].order_id == "O1-A2"
    assert not violations(events(ledger))


async def test_a_cart_for_a_higher_amount_replaces_the_order_at_that_price(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    reauthorize(ledger, amount="130.00")
    await run_orders_worker(ledger)
    assert state(ledger).orders["O1-A2"].amount == 13000


async def test_renewing_an_expired_hold_or_a_lower_price_keeps_the_order(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    reauthorize(ledger)  # the same price: a renewed hold
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="80.00"))
    reauthorize(ledger, old="A2", new="A3")  # a lower price
    await run_orders_worker(ledger)
    orders, holds = state(ledger).orders, state(ledger).authorizations
    assert list(orders) == ["O1"] and orders["O1"].status == "open" and orders["O1"].amount == 8000
    assert (holds["A2"].amount, holds["A3"].amount, holds["A3"].order_id) == (10000, 8000, "O1")


def test_a_reauthorization_must_cover_the_balance_due(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    with pytest.raises(PolicyViolation) as refused:
        reauthorize(ledger, amount="10.00")
    assert (refused.value.code, refused.value.field) == ("below_amount_due", "amount")
    with pytest.raises(PolicyViolation):
        ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1", amount="10.00"))
    assert "A2" not in state(ledger).authorizations and state(ledger).orders["O1"].amount == 15000


def test_a_hold_waiting_on_checkout_follows_its_order_when_replaced(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    ledger.service.handle(m.ReplaceOrder(account="ACC1", order="O1", new_order="O2", amount="130.00"))
    assert state(ledger).authorizations["A1"].order_id == "O2"
    done = ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"))
    assert done.status == "active" and state(ledger).authorizations["A2"].amount == 13000


def test_a_hold_captured_after_its_order_was_invoiced_pays_the_invoice(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-10-05",
                                         due="2026-10-20", order="O1"))
    captured = ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="C1"))
    assert captured.status == "settled"
    invoice = state(ledger).invoices["I1"]
    assert invoice.open == 0 and state(ledger).authorizations["A1"].status == "captured"
    applied = [e for e in events(ledger) if isinstance(e, ev.PaymentApplied)]
    assert [(e.target_kind, e.target_id, e.amount) for e in applied] == [("invoice", "I1", 10000)]


async def test_money_moved_to_a_replacement_order_is_not_emailed_again(ledger: Ledger) -> None:
    from ledger.adapters.mailers import MemoryMailer
    from workers.emails import EmailWorker

    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="40.00", method="card",
                                          token="tok_visa", orders={"O1": "40.00"}))
    ledger.service.handle(m.ReplaceOrder(account="ACC1", order="O1", new_order="O2", amount="130.00"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P2", amount="10.00", method="card",
                                          token="tok_visa", orders={"O2": "10.00"}))
    mailer = MemoryMailer()
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
    for event in events(ledger):
        if worker.relevant(event):
            await worker.handle(event, str(event.event_id))
    applied = [e.subject for e in mailer.sent if e.subject.startswith("Payment applied")]
    assert applied == ["Payment applied to your order O1", "Payment applied to your order O2"]
    assert state(ledger).orders["O2"].paid == 5000


async def test_a_new_hold_captured_before_the_worker_runs_is_not_counted_twice(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    reauthorize(ledger, amount="120.00")
    ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A2", payment="C2"))
    await run_orders_worker(ledger)
    replacement = state(ledger).orders["O1-A2"]
    assert replacement.amount == 12000  # was priced 220.00 (paid counted once from the capture, once more)
    # the capture paid the old order up to its price; the rest waits as credit for what is still open
    assert (replacement.paid, state(ledger).credit_balance) == (10000, 2000)


async def test_a_price_rise_after_a_partial_payment_replaces_the_order(ledger: Ledger) -> None:
    """The new hold (70.00, the balance due) is smaller than the old one (100.00), yet the price went up."""
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="card",
                                          token="tok_visa", orders={"O1": "50.00"}))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="120.00"))
    reauthorize(ledger)
    assert state(ledger).authorizations["A2"].amount == 7000
    await run_orders_worker(ledger)
    replacement = state(ledger).orders["O1-A2"]
    assert (replacement.amount, replacement.paid, replacement.open) == (12000, 5000, 7000)
