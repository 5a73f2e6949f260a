"""Issue 14, seed 004: a cart link is checked out against the order as it is now, never as it was when sent.

"A cart for an order that is paid, cancelled, replaced, or whose price changed since the cart was sent must be
refused at checkout (or priced at what is still due), never charged."
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import Conflict
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.integration.test_reauthorization import events, run_orders_worker
from tests.ledger_fixtures import make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    built = make_ledger(tmp_path)
    built.service.handle(m.OpenAccount(account="R", email="rep@example.com"))
    built.service.handle(m.PlaceOrder(account="R", order="REP", amount="100.00"))
    built.service.handle(m.AuthorizeCard(account="R", authorization="AU1", order="REP", amount="100.00",
                                         token="tok_visa"))
    yield built  # type: ignore[misc]
    built.close()


def state(ledger: Ledger) -> Any:
    return ledger.store.account(account_uuid("R")).state


def checkout(ledger: Ledger, new: str, token: str = "tok_visa") -> m.Outcome:
    return ledger.service.handle(m.Reauthorize(account="R", authorization="AU1", new_authorization=new, token=token))


async def test_a_stale_cart_for_an_order_paid_by_phone_is_refused_and_never_doubles_its_price(
        ledger: Ledger) -> None:
    ledger.service.handle(m.ChangeOrderPrice(account="R", order="REP", amount="180.00"))
    ledger.service.handle(m.RequestReauthorization(account="R", authorization="AU1"))
    failed = checkout(ledger, "AU2", token="tok_decline")
    assert failed.status == "manual_processing"
    ledger.service.handle(m.SubmitPayment(account="R", payment="MAN", amount="180.00", method="card",
                                          token="tok_visa", orders={"REP": "180.00"}))
    with pytest.raises(Conflict) as refused:
        checkout(ledger, "AU3")  # the customer checks out the old cart
    assert (refused.value.code, refused.value.field) == ("order_paid", "authorization")
    await run_orders_worker(ledger)
    orders = state(ledger).orders
    assert list(orders) == ["REP"] and (orders["REP"].amount, orders["REP"].open) == (18000, 0)
    assert "AU3" not in state(ledger).authorizations
    assert not violations(events(ledger))


async def test_a_cart_checked_out_after_a_price_cut_holds_the_new_price(ledger: Ledger) -> None:
    ledger.service.handle(m.ChangeOrderPrice(account="R", order="REP", amount="240.00"))
    ledger.service.handle(m.RequestReauthorization(account="R", authorization="AU1"))
    ledger.service.handle(m.ChangeOrderPrice(account="R", order="REP", amount="200.00"))
    checkout(ledger, "AU2")
    assert state(ledger).authorizations["AU2"].amount == 20000
    await run_orders_worker(ledger)
    replacement = state(ledger).orders["REP-AU2"]
    assert (replacement.amount, replacement.open) == (20000, 20000)


async def test_a_cart_checked_out_after_a_partial_payment_holds_what_is_still_due(ledger: Ledger) -> None:
    ledger.service.handle(m.ChangeOrderPrice(account="R", order="REP", amount="180.00"))
    ledger.service.handle(m.RequestReauthorization(account="R", authorization="AU1"))
    ledger.service.handle(m.SubmitPayment(account="R", payment="P1", amount="100.00", method="card",
                                          token="tok_visa", orders={"REP": "100.00"}))
    checkout(ledger, "AU2")
    assert state(ledger).authorizations["AU2"].amount == 8000
    await run_orders_worker(ledger)
    replacement = state(ledger).orders["REP-AU2"]
    assert (replacement.amount, replacement.paid, replacement.open) == (18000, 10000, 8000)


async def test_a_cart_for_an_unrecorded_rise_keeps_its_price_after_a_partial_payment(ledger: Ledger) -> None:
    ledger.service.handle(m.RequestReauthorization(account="R", authorization="AU1", amount="130.00"))
    ledger.service.handle(m.SubmitPayment(account="R", payment="P1", amount="30.00", method="card",
                                          token="tok_visa", orders={"REP": "30.00"}))
    checkout(ledger, "AU2")
    assert state(ledger).authorizations["AU2"].amount == 10000
    await run_orders_worker(ledger)
    assert state(ledger).orders["REP-AU2"].amount == 13000
