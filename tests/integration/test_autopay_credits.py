"""Seed 001 with seed 002: open credits are "automatically applied when any payment is made", so autopay charges
only what they leave open, and a payment of exactly the balance due may be net of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.errors import PolicyViolation
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger
from workers.autopay import AutopayWorker


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path)
    s = built.service
    s.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    s.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa", brand="visa",
                                last4="4242", exp_month=1, exp_year=2031))
    s.handle(m.EnableAutopay(account="ACC1"))
    yield built
    built.close()


def state(ledger: Any) -> Any:
    return ledger.store.account(account_uuid("ACC1")).state


async def autopay(ledger: Any, invoice: str, amount: str) -> None:
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=invoice, amount=amount, date="2026-09-01",
                                         due="2026-09-30"))
    issued = [ledger.store.mapper.to_domain_event(n)
              for n in ledger.store.recorder.select_notifications(start=1, limit=1000)]
    event = next(e for e in issued if isinstance(e, ev.InvoiceIssued) and e.invoice_id == invoice)
    worker = AutopayWorker(ledger.store, ledger.service)
    for _ in range(2):  # a redelivery does nothing more
        await worker.handle(event, str(event.event_id))


async def test_autopay_charges_what_open_credits_leave(ledger: Any) -> None:
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C1", amount="60.00", reference="memo"))
    await autopay(ledger, "I1", "100.00")
    charged = state(ledger).payments["AUTO-I1"]
    assert charged.amount == 4000
    assert state(ledger).invoices["I1"].open == 0 and state(ledger).credit_balance == 0


async def test_autopay_applies_credits_that_cover_the_invoice_without_a_charge(ledger: Any) -> None:
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C1", amount="30.00", reference="memo"))
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C2", amount="30.00", reference="memo"))
    await autopay(ledger, "I1", "50.00")
    assert "AUTO-I1" not in state(ledger).payments
    assert state(ledger).invoices["I1"].open == 0
    assert [c.remaining for c in state(ledger).credits.values()] == [0, 1000]


def test_an_exact_payment_may_be_net_of_open_credits(ledger: Any) -> None:
    s = ledger.service
    s.handle(m.DisableAutopay(account="ACC1"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.IssueCredit(account="ACC1", credit="C1", amount="50.00", reference="memo"))
    with pytest.raises(PolicyViolation):
        s.handle(m.SubmitPayment(account="ACC1", payment="P0", amount="40.00", method="card", token="tok_visa",
                                 distribute=True, exact=True))
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="card", token="tok_visa",
                             distribute=True, exact=True))
    assert state(ledger).balance == 0 and state(ledger).credit_balance == 0


async def test_a_redelivery_after_a_lost_answer_records_the_charge_whatever_credit_came_since(ledger: Any) -> None:
    from ledger.errors import GatewayUnavailable

    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01",
                                         due="2026-09-30"))
    event = next(e for e in (ledger.store.mapper.to_domain_event(n)
                             for n in ledger.store.recorder.select_notifications(start=1, limit=100))
                 if isinstance(e, ev.InvoiceIssued))
    worker = AutopayWorker(ledger.store, ledger.service)
    ledger.ports.gateway.fail_next(1, lose_response=True)  # charged, but the answer never came back
    with pytest.raises(GatewayUnavailable):
        await worker.handle(event, str(event.event_id))
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C1", amount="100.00", reference="goodwill"))
    await worker.handle(event, str(event.event_id))  # redelivered: the same command, answered by the gateway
    assert state(ledger).payments["AUTO-I1"].amount == 10000  # the charge is recorded, not lost
    assert state(ledger).invoices["I1"].open == 0 and state(ledger).credit_balance == 10000
