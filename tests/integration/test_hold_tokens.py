"""Issue 14: a hold carries its method, the token's: a card or a PayPal account (seed 004: "if the customer pays by
Credit Card or PayPal, eCommerce will authorize a charge for the amount of the purchase. That authorization is good
for 29 days"); a bank account is never held.

A PayPal token was held as a card and its capture recorded a card payment: the hold now records ``paypal`` and its
capture is a PayPal payment; a hold recorded before holds kept their method (a card or a PayPal account alike) is
captured, and renewed, by what the gateway says its token is. A bank token is refused ``token_method_mismatch``,
naming ``token``, before the gateway is asked, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from ledger.aggregates import events as ev
from ledger.aggregates.authorizations import AUTHORIZATION_TTL
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import ValidationError
from ledger.store.mapper import decode_event
from tests.integration.test_reauthorization import events, state
from tests.ledger_fixtures import START, edit_events, make_ledger


def held_at_gateway(ledger: Ledger) -> list[str]:
    return [t.kind for t in ledger.ports.gateway.transactions(since=START)]


@pytest.fixture
def order(ledger: Ledger) -> Ledger:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    return ledger


def test_a_paypal_hold_is_recorded_as_paypal_and_captured_as_a_paypal_payment(order: Ledger) -> None:
    handle = order.service.handle
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_paypal"))
    placed = [e for e in events(order) if isinstance(e, ev.CardAuthorized)]
    assert [(e.method, e.token) for e in placed] == [("paypal", "tok_paypal")]
    hold = state(order).authorizations["A1"]
    assert (hold.method, hold.expires_at) == ("paypal", START + AUTHORIZATION_TTL)  # good for 29 days too
    handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="P1"))
    paid = state(order).payments["P1"]
    assert (paid.method, paid.token, paid.amount) == ("paypal", "tok_paypal", 10000)


@pytest.mark.parametrize("token", ["tok_ach", "tok_ach_return"])
def test_a_bank_token_is_never_held_and_the_gateway_is_not_asked(order: Ledger, token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        order.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                             token=token))
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert state(order).authorizations == {}
    assert held_at_gateway(order) == []  # the gateway was never asked
    assert not [e for e in events(order) if isinstance(e, ev.AuthorizationEvent)]


def test_a_reauthorization_refuses_a_bank_token_before_the_gateway(order: Ledger) -> None:
    handle = order.service.handle
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    written = len(events(order))
    with pytest.raises(ValidationError) as refused:
        handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_ach"))
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert held_at_gateway(order) == ["authorization"]  # only A1: the bank account was never asked
    assert set(state(order).authorizations) == {"A1"} and len(events(order)) == written


def test_a_card_hold_reauthorized_with_a_paypal_token_is_a_paypal_hold(order: Ledger) -> None:
    handle = order.service.handle
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    assert state(order).authorizations["A1"].method == "card"
    handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_paypal"))
    renewed = [e for e in events(order) if isinstance(e, ev.Reauthorized)]
    assert [(e.method, e.token) for e in renewed] == [("paypal", "tok_paypal")]
    assert state(order).authorizations["A2"].method == "paypal"
    handle(m.RequestReauthorization(account="ACC1", authorization="A2"))  # renewed again, naming no token
    handle(m.Reauthorize(account="ACC1", authorization="A2", new_authorization="A3"))
    assert (state(order).authorizations["A3"].method, state(order).authorizations["A3"].token) == (
        "paypal", "tok_paypal")  # the PayPal account the customer last approved
    handle(m.CaptureAuthorization(account="ACC1", authorization="A3", payment="P1"))
    assert (state(order).payments["P1"].method, state(order).payments["P1"].token) == ("paypal", "tok_paypal")


def test_holds_recorded_before_the_method_was_kept_read_as_unknown() -> None:
    """A hold recorded before (CardAuthorized and Reauthorized without ``method``) was on a card or a PayPal account
    alike: its method reads as unknown (None), never as card (review finding 10)."""
    for cls, fields in ((ev.CardAuthorized, {"authorization_id": "A1", "order_id": "O1", "token": "tok_paypal"}),
                        (ev.Reauthorized, {"authorization_id": "A1", "new_authorization_id": "A2",
                                           "order_id": "O1"})):
        old = {"originator_id": "6f1c3a4e-0a36-4b39-9f0c-3c1b2f7d9e10", "originator_version": 2,
               "timestamp": "2026-09-01T00:00:00Z", "amount": 100, "transaction_id": "txn_1",
               "expires_at": "2026-09-30T00:00:00Z", **fields}
        read = decode_event(f"{cls.__name__}:1", msgspec.json.encode(old))
        assert isinstance(read, cls) and read.method is None


def placed_by_the_old_release(folder: Path, token: str) -> Ledger:
    """A ledger whose hold A1 on ``token`` (for order O1 of 100.00) was written as the release before wrote it:
    CardAuthorized without ``method``."""
    ledger = make_ledger(folder)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00",
                                          token=token))
    ledger.close()
    method = "paypal" if token == "tok_paypal" else "card"
    assert edit_events(folder, f',"method":"{method}"', "", topic="CardAuthorized") == 1
    ledger = make_ledger(folder)
    assert state(ledger).authorizations["A1"].method is None
    return ledger


@pytest.mark.parametrize(("token", "method"), [("tok_paypal", "paypal"), ("tok_visa", "card")])
def test_a_hold_placed_before_the_release_is_captured_by_what_the_gateway_says_its_token_is(
        tmp_path: Path, token: str, method: str) -> None:
    ledger = placed_by_the_old_release(tmp_path, token)
    try:
        ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="P1"))
        paid = state(ledger).payments["P1"]
        assert (paid.method, paid.token, paid.amount) == (method, token, 10000)
    finally:
        ledger.close()


def test_a_paypal_hold_placed_before_the_release_is_renewed_as_paypal(tmp_path: Path) -> None:
    ledger = placed_by_the_old_release(tmp_path, "tok_paypal")
    try:
        handle = ledger.service.handle
        handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
        handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"))  # naming no token
        renewed = [e for e in events(ledger) if isinstance(e, ev.Reauthorized)]
        assert [(e.method, e.token) for e in renewed] == [("paypal", "tok_paypal")]
        handle(m.CaptureAuthorization(account="ACC1", authorization="A2", payment="P1"))
        assert (state(ledger).payments["P1"].method, state(ledger).payments["P1"].token) == ("paypal", "tok_paypal")
    finally:
        ledger.close()


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
