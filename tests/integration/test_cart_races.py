"""Two checkouts of one cart link (seed 004) racing: the one that lost the write race finds the cart used on
its retry, and the hold the gateway placed for it is released, never left on the card unknown to the ledger."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.errors import LedgerError
from tests.integration.test_gateway_races import raced  # noqa: F401  (the fixture: a gateway that races)


def test_a_first_cart_checked_out_twice_at_once_holds_once(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="Q1", amount="80.00"))
    cart = s.handle(m.RequestCart(account="ACC1", order="Q1")).reference
    raw = ledger.ports.tokens.issue("cart", "ACC1", cart)

    def checkout(hold: str) -> m.AuthorizeCard:
        return m.AuthorizeCard(account="ACC1", authorization=hold, order="Q1", amount="80.00", token="tok_visa",
                               cart=cart, cart_token=raw)

    gateway.races["authorize"] = lambda: s.handle(checkout("H2"))
    with pytest.raises(LedgerError) as refused:
        s.handle(checkout("H1"))
    assert refused.value.code == "cart_used"
    assert sorted(gateway.statuses("authorization")) == ["approved", "voided"]


def test_a_hold_cart_checked_out_twice_at_once_holds_once(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    s.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    cart = s.handle(m.RequestReauthorization(account="ACC1", authorization="A1")).reference
    raw = ledger.ports.tokens.issue("cart", "ACC1", cart)

    def checkout(new: str) -> m.Reauthorize:
        return m.Reauthorize(account="ACC1", authorization="A1", new_authorization=new, cart=cart, cart_token=raw,
                             token="tok_visa")

    gateway.races["authorize"] = lambda: s.handle(checkout("N2"))
    with pytest.raises(LedgerError) as refused:
        s.handle(checkout("N1"))
    assert refused.value.code == "cart_used"
    assert sorted(gateway.statuses("authorization")) == ["approved", "voided", "voided"]  # A1 released for N2
