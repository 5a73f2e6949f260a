"""Review of cart links (seed 004) from a guest's side: a first cart's checkout holds the balance due, no less; an
idempotency key reused for another hold is refused rather than recording one gateway hold twice; a declined
checkout sent again is recorded once; a hold placed by phone resolves a declined first cart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import START, make_ledger

GUEST = m.ActorIn(kind="guest", name="guest", channel="web")


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path)
    built.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    built.service.handle(m.PlaceOrder(account="ACC1", order="Q1", amount="0.00"))
    built.service.handle(m.ChangeOrderPrice(account="ACC1", order="Q1", amount="80.00"))
    yield built
    built.close()


def first_cart(ledger: Ledger) -> tuple[str, str]:
    cart = ledger.service.handle(m.RequestCart(account="ACC1", order="Q1")).reference
    return cart, ledger.ports.tokens.issue("cart", "ACC1", cart)


def refused(ledger: Ledger, command: m.Command) -> tuple[str, str | None]:
    with pytest.raises(LedgerError) as error:
        ledger.service.handle(command)
    return error.value.code, error.value.field


def holds_at_gateway(ledger: Ledger) -> list[int]:
    return [t.amount for t in ledger.ports.gateway.transactions(since=START) if t.kind == "authorization"]


@pytest.mark.parametrize("amount", ["0.01", "79.99"])
def test_a_first_carts_checkout_holds_the_carts_amount_and_no_less(ledger: Ledger, amount: str) -> None:
    cart, raw = first_cart(ledger)
    command = m.AuthorizeCard(account="ACC1", authorization="H1", order="Q1", amount=amount, token="tok_visa",
                              cart=cart, cart_token=raw, actor=GUEST)
    assert refused(ledger, command) == ("cart_mismatch", "amount")
    assert holds_at_gateway(ledger) == []


def test_a_first_carts_checkout_for_the_balance_due_holds_it(ledger: Ledger) -> None:
    cart, raw = first_cart(ledger)
    command = m.AuthorizeCard(account="ACC1", authorization="H1", order="Q1", amount="80.00", token="tok_visa",
                              cart=cart, cart_token=raw, actor=GUEST)
    assert ledger.service.handle(command).status == "active"
    assert holds_at_gateway(ledger) == [8000]


def test_a_key_reused_for_another_hold_never_records_the_first_holds_transaction_twice(ledger: Ledger) -> None:
    def hold(authorization: str) -> m.AuthorizeCard:
        return m.AuthorizeCard(account="ACC1", authorization=authorization, order="Q1", amount="40.00",
                               token="tok_visa", key="K1")

    ledger.service.handle(hold("H1"))
    assert refused(ledger, hold("H2")) == ("idempotency_key_reused", "key")
    assert ledger.service.handle(hold("H1")).replayed


def test_a_key_reused_for_another_reauthorization_is_refused(ledger: Ledger) -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="Q2", amount="80.00"))
    for order, hold in (("Q1", "H1"), ("Q2", "H2")):
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization=hold, order=order, amount="40.00",
                                              token="tok_visa"))
    ledger.service.handle(m.Reauthorize(account="ACC1", authorization="H1", new_authorization="N1", key="K2"))
    assert refused(ledger, m.Reauthorize(account="ACC1", authorization="H2", new_authorization="N2",
                                         key="K2")) == ("idempotency_key_reused", "key")


def test_a_hold_placed_by_phone_after_a_declined_first_cart_resolves_the_manual_processing(
        ledger: Ledger, tmp_path: Path) -> None:
    cart, raw = first_cart(ledger)
    declined = ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="H1", order="Q1", amount="80.00",
                                                     token="tok_decline", cart=cart, cart_token=raw, actor=GUEST))
    assert declined.status == "manual_processing"
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="H2", order="Q1", amount="80.00",
                                          token="tok_visa"))  # the CSR takes the card by phone (seed 004)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    board = queries.dashboard(keeper.connection("accounts"), START)["manual_processing"]
    keeper.close()
    assert not ledger.store.account(account_uuid("ACC1")).state.orders["Q1"].manual_processing
    assert [row["order"] for row in board] == []


def test_a_declined_first_cart_checkout_sent_twice_is_recorded_once(ledger: Ledger) -> None:
    cart, raw = first_cart(ledger)
    command = m.AuthorizeCard(account="ACC1", authorization="H1", order="Q1", amount="80.00", token="tok_decline",
                              cart=cart, cart_token=raw, actor=GUEST, key="K9")
    first, again = ledger.service.handle(command), ledger.service.handle(command)
    assert (first.status, again.status, again.replayed) == ("manual_processing", "manual_processing", True)
    names = [type(e).__name__ for e in ledger.store.events.get(account_uuid("ACC1"))]
    assert names.count("CardAuthorizationFailed") == 1
    assert again.detail == first.detail and again.transaction_id == first.transaction_id
    other_card = msgspec.structs.replace(command, token="tok_visa", key=None)
    assert ledger.service.handle(other_card).status == "active"  # another card under the hold id: a new request


def test_a_declined_reauthorization_sent_twice_is_recorded_once(ledger: Ledger) -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="Q2", amount="80.00"))
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="H1", order="Q2", amount="80.00",
                                          token="tok_visa"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="Q2", amount="90.00"))
    command = m.Reauthorize(account="ACC1", authorization="H1", new_authorization="N1", token="tok_decline")
    first, again = ledger.service.handle(command), ledger.service.handle(command)
    assert (first.status, again.status, again.replayed) == ("manual_processing", "manual_processing", True)
    assert (again.transaction_id, again.detail) == (first.transaction_id, first.detail)
    names = [type(e).__name__ for e in ledger.store.events.get(account_uuid("ACC1"))]
    assert names.count("ReauthorizationFailed") == 1
    other_card = msgspec.structs.replace(command, token="tok_visa")
    assert ledger.service.handle(other_card).status == "active"
