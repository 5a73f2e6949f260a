"""The email templates (Jinja2): every amount carries its currency, the receipt says where the money went, the
statement is a table (no ``<pre>``), and what a customer typed is escaped in the HTML part only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.adapters.mailers import MemoryMailer
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from ledger.ports.mailer import Email
from tests.ledger_fixtures import ids_as_before, make_ledger
from workers.emails import EmailWorker

AMOUNT = re.compile(r"\d+\.\d\d(?! CAD)")


async def emails_of(tmp_path: Path, *commands: m.Command, wanted: str) -> list[Email]:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com", currency="CAD"))
    for command in commands:
        ledger.service.handle(command)
    mailer = MemoryMailer()
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens, "https://portal.example")
    for event in ledger.store.events.get(account_uuid("ACC1")):
        if type(event).__name__ == wanted:
            await worker.handle(event, str(event.originator_version))
    ledger.close()
    return mailer.sent


async def test_a_receipt_says_where_the_money_went_in_the_accounts_currency(tmp_path: Path) -> None:
    sent = await emails_of(
        tmp_path,
        m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01", due="2026-09-30"),
        m.IssueInvoice(account="ACC1", invoice="I2", amount="20.00", date="2026-09-02", due="2026-10-02"),
        m.IssueCredit(account="ACC1", credit="C1", amount="5.00"),
        m.PlaceOrder(account="ACC1", order="O1", amount="30.00"),
        m.SubmitPayment(account="ACC1", payment="P1", amount="150.00", method="card", token="tok_visa",
                        distribute=True),
        wanted="PaymentSettled")
    [receipt] = sent
    assert receipt.subject == "Payment received: 150.00 CAD"
    for part in (receipt.text, receipt.html):
        assert not AMOUNT.search(part), part  # every amount names its currency
    assert "Applied to invoice I1: 100.00 CAD" in receipt.text and "Applied to invoice I2: 20.00 CAD" in receipt.text
    assert "Kept as credit on your account: 30.00 CAD" in receipt.text
    assert "<td>Invoice I1</td><td>100.00 CAD</td>" in receipt.html
    assert "<td>Credit on your account</td><td>30.00 CAD</td>" in receipt.html


async def test_a_receipt_names_the_credit_spent_with_the_payment(tmp_path: Path) -> None:
    sent = await emails_of(
        tmp_path,
        m.IssueCredit(account="ACC1", credit="C1", amount="5.00"),
        m.PlaceOrder(account="ACC1", order="O1", amount="30.00"),
        m.SubmitPayment(account="ACC1", payment="P1", amount="10.00", method="card", token="tok_visa",
                        orders={"O1": "10.00"}),
        wanted="PaymentSettled")
    [receipt] = sent
    assert "Applied to order O1: 10.00 CAD" in receipt.text
    assert "With it, credit C1 paid 5.00 CAD of order O1" in receipt.text
    assert "Kept as credit" not in receipt.text


async def test_a_statement_is_a_table_in_the_accounts_currency_and_escapes_what_was_typed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids_as_before(monkeypatch)  # an invoice id from before the safe alphabet, with markup in it
    sent = await emails_of(
        tmp_path,
        m.IssueInvoice(account="ACC1", invoice="<i>I1</i>", amount="70.00", date="2026-09-01", due="2026-09-30"),
        m.SendStatement(account="ACC1", period_from="2026-09-01", period_to="2026-09-30"),
        wanted="StatementSent")
    [statement] = sent
    assert statement.subject.endswith("closing balance 70.00 CAD")
    assert "<pre>" not in statement.html
    assert "<td>&lt;i&gt;I1&lt;/i&gt;</td>" in statement.html and "<i>I1</i>" not in statement.html
    assert "<i>I1</i>" in statement.text and "&lt;" not in statement.text
    for part in (statement.subject, statement.text, statement.html):
        assert not AMOUNT.search(part), part
