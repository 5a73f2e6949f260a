"""Seed 004's cart links through the service (real SQLite, gateway simulator): the ledger checks the link.

"Customers will be sent an email with a link to a new cart. Upon checkout in eCommerce, the credit card will be
authorized for the new amount": the checkout names the cart and brings the link's token; an older link, a forged
token, a used cart are refused before the gateway is asked (it shows no hold for them); the same checkout again
answers as before; a CSR by phone names no cart. "On the off chance that the credit card transaction fails, credit
card payment will need to be manually processed": a declined first cart is recorded for the CSR team too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from ledger.views import stored_account_view
from tests.integration.test_reauthorization import events
from tests.ledger_fixtures import START, make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path)
    built.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    built.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    yield built
    built.close()


def send_cart(ledger: Ledger, command: m.Command) -> tuple[str, str]:
    """Send a cart link; its id and the raw token the email worker puts in the link."""
    cart = ledger.service.handle(command).reference
    return cart, ledger.ports.tokens.issue("cart", "ACC1", cart)


def holds_at_gateway(ledger: Ledger) -> list[int]:
    """The amounts of every hold the gateway simulator placed."""
    return [t.amount for t in ledger.ports.gateway.transactions(since=START) if t.kind == "authorization"]


def refused(ledger: Ledger, command: m.Command) -> tuple[str, str | None]:
    with pytest.raises(LedgerError) as error:
        ledger.service.handle(command)
    return error.value.code, error.value.field


def checkout(cart: tuple[str, str], new: str = "A2", token: str | None = None) -> m.Reauthorize:
    return m.Reauthorize(account="ACC1", authorization="A1", new_authorization=new, cart=cart[0], cart_token=cart[1],
                         token=token)


def test_an_older_link_is_refused_the_newest_checks_out_once_and_a_forged_one_never_reaches_the_gateway(
        ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    older = send_cart(ledger, m.RequestReauthorization(account="ACC1", authorization="A1"))
    newer = send_cart(ledger, m.RequestReauthorization(account="ACC1", authorization="A1"))
    assert refused(ledger, checkout(older)) == ("cart_replaced", "cart")
    forged = (newer[0], ("B" if newer[1][0] == "A" else "A") + newer[1][1:])
    assert refused(ledger, checkout(forged)) == ("cart_token_invalid", "cart_token")
    assert refused(ledger, checkout((newer[0], newer[1][:-1]))) == ("cart_token_invalid", "cart_token")
    assert holds_at_gateway(ledger) == [10000]  # nothing was asked of the gateway for the refused ones
    done = ledger.service.handle(checkout(newer))
    assert (done.status, done.replayed) == ("active", False)
    again = ledger.service.handle(checkout(newer))
    assert (again.reference, again.status, again.transaction_id, again.replayed) == (
        "A2", "active", done.transaction_id, True)
    assert refused(ledger, checkout(newer, new="A3")) == ("cart_used", "cart")
    assert holds_at_gateway(ledger) == [10000, 15000]
    [approved] = [e for e in events(ledger) if isinstance(e, ev.Reauthorized)]
    assert approved.cart_id == newer[0]
    view = stored_account_view(ledger.store, "ACC1")
    assert [(c.id, c.authorization, c.status) for c in view.carts] == [(older[0], "A1", "replaced"),
                                                                      (newer[0], "A1", "used")]
    assert "token_hash" not in repr(view.carts)
    assert not violations(events(ledger))


def test_a_csr_by_phone_reauthorizes_without_a_cart_and_the_link_then_reads_closed(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    cart = send_cart(ledger, m.RequestReauthorization(account="ACC1", authorization="A1", amount="120.00"))
    assert [c.amount for c in stored_account_view(ledger.store, "ACC1").carts] == ["120.00"]
    assert ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2")).status \
        == "active"
    assert [c.status for c in stored_account_view(ledger.store, "ACC1").carts] == ["closed"]
    assert refused(ledger, checkout(cart, new="A3"))[0] == "not_reauthorizable"


def test_a_declined_first_cart_goes_to_manual_processing_and_another_card_checks_it_out(ledger: Ledger) -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="Q1", amount="0.00"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="Q1", amount="80.00"))
    cart, raw = send_cart(ledger, m.RequestCart(account="ACC1", order="Q1"))

    def first_hold(hold: str, token: str, proof: str = raw) -> m.AuthorizeCard:
        return m.AuthorizeCard(account="ACC1", authorization=hold, order="Q1", amount="80.00", token=token,
                               cart=cart, cart_token=proof)

    assert refused(ledger, first_hold("H0", "tok_visa", proof=raw[::-1])) == ("cart_token_invalid", "cart_token")
    declined = ledger.service.handle(first_hold("H1", "tok_decline"))
    assert (declined.status, declined.events) == ("manual_processing", ("CardAuthorizationFailed",))
    orders = {o.id: o for o in stored_account_view(ledger.store, "ACC1").orders}
    assert orders["Q1"].manual_processing
    assert ledger.service.handle(first_hold("H2", "tok_visa")).status == "active"
    assert ledger.service.handle(first_hold("H2", "tok_visa")).replayed
    assert refused(ledger, first_hold("H3", "tok_visa")) == ("cart_used", "cart")
    state = ledger.store.account(account_uuid("ACC1")).state
    assert not state.orders["Q1"].manual_processing and state.carts[cart].used_for == "H2"
    assert holds_at_gateway(ledger) == [8000, 8000]  # the declined one and the approved one


def test_a_declined_hold_naming_no_cart_is_refused_as_before(ledger: Ledger) -> None:
    assert refused(ledger, m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                           token="tok_decline"))[1] == "token"
    assert not [e for e in events(ledger) if isinstance(e, ev.CardAuthorizationFailed)]


def test_a_cart_token_comes_with_its_cart(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    assert refused(ledger, m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2",
                                         cart_token="x" * 43)) == ("required", "cart")
    assert refused(ledger, m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2",
                                         cart="CART-1", cart_token="not a token")) == ("cart_token_invalid",
                                                                                       "cart_token")


GUEST = m.ActorIn(kind="guest", name="guest", channel="web")


def test_a_guest_holding_the_link_checks_it_out_for_its_amount_and_nothing_else(ledger: Ledger) -> None:
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token="tok_visa"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    cart = send_cart(ledger, m.RequestReauthorization(account="ACC1", authorization="A1"))
    as_guest = msgspec.structs.replace(checkout(cart), actor=GUEST)
    assert refused(ledger, msgspec.structs.replace(as_guest, cart=None, cart_token=None)) == (
        "actor_not_allowed", "actor.kind")  # no link, no checkout: the customer's session is needed
    forged = msgspec.structs.replace(as_guest, cart_token=cart[1][::-1])
    assert refused(ledger, forged) == ("cart_token_invalid", "cart_token")
    assert refused(ledger, msgspec.structs.replace(as_guest, new_authorization="A1")) == ("duplicate_id",
                                                                                         "new_authorization")
    assert refused(ledger, msgspec.structs.replace(as_guest, amount="900.00")) == ("cart_mismatch", "amount")
    assert holds_at_gateway(ledger) == [10000]
    done = ledger.service.handle(as_guest)
    assert done.status == "active" and holds_at_gateway(ledger) == [10000, 15000]
    assert ledger.service.handle(as_guest).replayed
    [approved] = [e for e in events(ledger) if isinstance(e, ev.Reauthorized)]
    assert (approved.by.kind, approved.cart_id, approved.amount) == ("guest", cart[0], 15000)
