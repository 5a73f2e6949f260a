"""Customers and guests act for themselves only: paying, their invitation, their saved methods and autopay,
checkout; a credit, a refund or a voided invoice asked for by one is refused and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.commands import messages as m
from ledger.errors import Forbidden
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger

CUSTOMER = m.ActorIn(kind="customer", name="portal", channel="portal")
GUEST = m.ActorIn(kind="guest", name="guest", channel="web")
CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path)
    built.service.handle(m.OpenAccount(account="ACC1", email="a@example.com", actor=CSR))
    built.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="50.00", date="2026-09-01",
                                        due="2026-09-30", actor=CSR))
    yield built
    built.close()


@pytest.mark.parametrize("actor", [CUSTOMER, GUEST])
@pytest.mark.parametrize("command", [
    m.IssueCredit(account="ACC1", credit="C1", amount="500.00", reference="gift"),
    m.VoidInvoice(account="ACC1", invoice="I1", reason="no"),
    m.OpenAccount(account="ACC2", email="b@example.com"),
    m.SendStatement(account="ACC1", period_from="2026-09-01", period_to="2026-09-30"),
], ids=lambda c: type(c).__name__)
def test_staff_commands_from_a_customer_or_guest_are_refused(ledger: Any, actor: m.ActorIn, command: Any) -> None:
    version = ledger.store.account(account_uuid("ACC1")).version
    with pytest.raises(Forbidden) as refused:
        ledger.service.handle(type(command)(**{**{f: getattr(command, f) for f in command.__struct_fields__},
                                               "actor": actor}))
    assert (refused.value.code, refused.value.field) == ("actor_not_allowed", "actor.kind")
    assert ledger.store.account(account_uuid("ACC1")).version == version


def test_a_customer_pays_and_keeps_their_methods(ledger: Any) -> None:
    paid = ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="card",
                                                 token="tok_visa", distribute=True, actor=CUSTOMER))
    assert paid.status == "settled"
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa",
                                             brand="visa", last4="4242", exp_month=1, exp_year=2031, actor=CUSTOMER))
    assert ledger.service.handle(m.EnableAutopay(account="ACC1", actor=CUSTOMER)).events == ("AutopayEnabled",)
    guest = ledger.service.handle(m.ReceiveUnidentifiedPayment(payment="G1", amount="5.00", currency="USD",
                                                               method="card", token="tok_visa", reference="r",
                                                               actor=GUEST))
    assert guest.status == "awaiting_research"


@pytest.mark.parametrize("command", [
    m.AddPaymentMethod(account="ACC1", method="M2", kind="card", token="tok_visa", brand="visa", last4="4242",
                       exp_month=1, exp_year=2031),
    m.RemovePaymentMethod(account="ACC1", method="M1"),
    m.SetDefaultPaymentMethod(account="ACC1", method="M1"),
    m.EnableAutopay(account="ACC1", method="M1"),
    m.DisableAutopay(account="ACC1"),
    m.PlaceOrder(account="ACC1", order="O1", amount="900.00"),
    m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="1.00", token="tok_visa"),
    m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"),
    m.SubmitPayment(account="ACC1", payment="P9", amount="50.00", method="card", saved="M1", distribute=True),
], ids=lambda c: type(c).__name__)
def test_a_guest_keeps_no_accounts_methods_orders_or_holds(ledger: Any, command: Any) -> None:
    """A guest is nobody the ledger knows (the CLI's ``--actor guest``, a portal request without a customer
    session): it pays with a token it brings, never with an account's saved card, and keeps nothing of it."""
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa",
                                             brand="visa", last4="4242", exp_month=1, exp_year=2031, actor=CSR))
    version = ledger.store.account(account_uuid("ACC1")).version
    with pytest.raises(Forbidden) as refused:
        ledger.service.handle(msgspec.structs.replace(command, actor=GUEST))
    assert (refused.value.code, refused.value.field) == ("actor_not_allowed", "actor.kind")
    assert ledger.store.account(account_uuid("ACC1")).version == version
    paid = ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="card",
                                                 token="tok_visa", distribute=True, actor=GUEST))
    assert paid.status == "settled"
