"""Issue 14: a hold takes a token of its method, as a payment does (``token_method_mismatch``, naming ``token``).

A card hold was placed with a PayPal token (and reauthorized with one), and its capture recorded a card payment:
the ledger now refuses the token before the gateway is asked, and writes nothing.
"""

from __future__ import annotations

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import ValidationError
from tests.integration.test_reauthorization import state
from tests.ledger_fixtures import START


def held_at_gateway(ledger: Ledger) -> list[str]:
    return [t.kind for t in ledger.ports.gateway.transactions(since=START)]


@pytest.fixture
def order(ledger: Ledger) -> Ledger:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    return ledger


@pytest.mark.parametrize("token", ["tok_paypal", "tok_ach"])
def test_a_card_hold_refuses_a_token_of_another_method_before_the_gateway(order: Ledger, token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        order.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                             token=token))
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert state(order).authorizations == {}
    assert held_at_gateway(order) == []  # the gateway was never asked


def test_a_reauthorization_refuses_a_paypal_token_and_the_capture_stays_a_card_payment(order: Ledger) -> None:
    handle = order.service.handle
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    with pytest.raises(ValidationError) as refused:
        handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_paypal"))
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert held_at_gateway(order) == ["authorization"]  # only A1: the PayPal token was never held
    assert set(state(order).authorizations) == {"A1"}
    handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_mastercard"))
    handle(m.CaptureAuthorization(account="ACC1", authorization="A2", payment="P1"))
    assert state(order).payments["P1"].method == "card"


def test_a_checkout_with_another_card_keeps_that_card_for_the_capture_and_the_next_cart(order: Ledger) -> None:
    handle = order.service.handle
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_mastercard"))
    assert state(order).authorizations["A2"].token == "tok_mastercard"
    handle(m.RequestReauthorization(account="ACC1", authorization="A2"))  # the CSR re-triggers; no new card
    handle(m.Reauthorize(account="ACC1", authorization="A2", new_authorization="A3"))
    held = [(t.kind, t.token) for t in order.ports.gateway.transactions(since=START) if t.kind == "authorization"]
    assert held == [("authorization", "tok_visa"), ("authorization", "tok_mastercard"),
                    ("authorization", "tok_mastercard")]  # the card the customer last approved, not the old one
    handle(m.CaptureAuthorization(account="ACC1", authorization="A3", payment="P1"))
    assert state(order).payments["P1"].token == "tok_mastercard"
