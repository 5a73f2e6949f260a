"""Issue 14, seed 002: autopay never charges an expired card; the customer is emailed that it could not pay, and
the CSR dashboard shows the invoice until it is paid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.mailers import MemoryMailer
from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import START, make_ledger
from workers.autopay import AutopayWorker
from workers.emails import EmailWorker


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path, clock=ManualClock(START))  # 2026-09-01
    s = built.service
    s.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    s.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa", brand="visa",
                                last4="4242", exp_month=9, exp_year=2026))
    s.handle(m.EnableAutopay(account="ACC1"))
    yield built
    built.close()


def events(ledger: Any) -> list[Any]:
    return [ledger.store.mapper.to_domain_event(n)
            for n in ledger.store.recorder.select_notifications(start=1, limit=1000)]


async def test_autopay_with_an_expired_card_emails_the_customer_and_shows_on_the_dashboard(
        ledger: Any, tmp_path: Path) -> None:
    ledger.ports.clock.advance(days=31)  # October: the card expired at the end of September
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="50.00", date="2026-10-02",
                                         due="2026-10-30"))
    issued = next(e for e in events(ledger) if isinstance(e, ev.InvoiceIssued))
    worker = AutopayWorker(ledger.store, ledger.service)
    for _ in range(2):  # a redelivery records nothing more
        await worker.handle(issued, str(issued.event_id))
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments == {} and state.invoices["I1"].open == 5000
    failed = [e for e in events(ledger) if isinstance(e, ev.AutopayFailed)]
    assert [(e.invoice_id, e.method_id, e.reason) for e in failed] == [("I1", "M1", "card_expired")]
    mailer = MemoryMailer()
    mails = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
    for event in events(ledger):
        if mails.relevant(event):
            await mails.handle(event, str(event.event_id))
    assert [mail.subject for mail in mailer.sent] == ["We could not pay invoice I1 automatically"]
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    board = queries.dashboard(keeper.connection("accounts"), ledger.ports.clock.now())
    assert [(r["customer"], r["invoice"], r["open"], r["reason"]) for r in board["autopay_failed"]] == [
        ("ACC1", "I1", "50.00", "card_expired")]
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="card",
                                          token="tok_mastercard", invoices={"I1": "50.00"}))
    keeper.catch_up()
    assert queries.dashboard(keeper.connection("accounts"), ledger.ports.clock.now())["autopay_failed"] == []
    keeper.close()
