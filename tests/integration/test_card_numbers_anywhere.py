"""No card number is stored through any field: ids, references, names, descriptions, keys, allocation maps and
the actor are checked at the edge like the token (a PAN as a payment id reached events, JetStream and emails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.cards import card_number_in_text
from ledger.commands import messages as m
from ledger.errors import ValidationError
from tests.ledger_fixtures import make_ledger

PAN = "4242424242424242"


@pytest.mark.parametrize(("command", "field"), [
    (m.SubmitPayment(account="ACC1", payment=PAN, amount="5.00", method="card", token="tok_visa", deposit=True),
     "payment"),
    (m.SubmitPayment(account="ACC1", payment="P1", amount="5.00", method="card", token="tok_visa",
                     invoices={"4242 4242 4242 4242": "5.00"}), "invoices"),  # never echoed in the field
    (m.SubmitPayment(account="ACC1", payment="P1", amount="5.00", method="card", token="tok_visa", deposit=True,
                     key=f"k-{PAN}"), "key"),
    (m.PlaceOrder(account="ACC1", order="O1", amount="5.00", description=f"card {PAN}"), "description"),
    (m.IssueCredit(account="ACC1", credit="K1", amount="1.00", reference="4242-4242-4242-4242"), "reference"),
    (m.OpenAccount(account="ACC2", email="b@example.com", name=PAN), "name"),
    (m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa", brand=PAN, last4="4242",
                        exp_month=1, exp_year=2030), "brand"),
    (m.IssueCredit(account="ACC1", credit="K1", amount="1.00", actor=m.ActorIn(kind="csr", name=PAN)),
     "actor.name"),
    (m.SubmitPayment(account="ACC1", payment="P1", amount="5.00", method="card", token=PAN, deposit=True), "token"),
])
def test_a_card_number_in_any_field_is_refused_and_nothing_is_written(tmp_path: Path, command: Any,
                                                                       field: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    head = ledger.store.recorder.max_notification_id()
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(command)
    assert (refused.value.code, refused.value.field) == ("raw_card_number", field)
    assert not card_number_in_text(f"{refused.value} {refused.value.field}")  # not echoed, not logged
    assert field == "token" or "put a word between numbers that are not one" in refused.value.message
    assert ledger.store.recorder.max_notification_id() == head
    ledger.close()


@pytest.mark.parametrize("reference", [
    "ticket 1234567890", "PAY-20240115-000123", "INV-00000000000001", "ORD-1700000000002-1",
    "70293815-5351-42c1-a8fb-46b52a2d551f", "ACH trace 021000021234568", "2026-09-01T10:42:00Z",
])
def test_ordinary_numbers_pass(tmp_path: Path, reference: str) -> None:
    """Dates, order numbers, zero-padded ids, timestamps, UUIDs and ACH trace numbers are not card numbers, unless
    13-19 of their digits in a row pass Luhn (issue 15: ``ORD-1700000000000-1`` and ``ACH trace 021000021234567``
    are refused, one such number in ten; README)."""
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com", name="Unit 4242"))
    ledger.service.handle(m.IssueCredit(account="ACC1", credit=reference.replace(" ", "-")[:64], amount="1.00",
                                        reference=reference))
    ledger.close()
