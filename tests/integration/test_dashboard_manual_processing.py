"""The CSR dashboard's "needs manual processing" list: an order enters it when its reauthorization fails and
leaves it once resolved (a new card approved); the live projection and a rebuild agree."""

from __future__ import annotations

from pathlib import Path

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.projections import fresh, queries
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import dump
from tests.ledger_fixtures import START

CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


def manual(keeper: ProjectionKeeper) -> list[str]:
    keeper.catch_up()
    board = queries.dashboard(keeper.connection("accounts"), START)
    return [row["order"] for row in board["manual_processing"]]


def test_an_order_leaves_manual_processing_once_a_new_card_is_approved(ledger: Ledger, tmp_path: Path) -> None:
    handle = ledger.service.handle
    handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    handle(m.PlaceOrder(account="ACC1", order="R-9", amount="99.00", channel="phone"))
    handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="R-9", amount="99.00", token="tok_visa"))
    handle(m.ChangeOrderPrice(account="ACC1", order="R-9", amount="120.00"))
    handle(m.RequestReauthorization(account="ACC1", authorization="A1", actor=CSR))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", token="tok_decline"))
    assert manual(keeper) == ["R-9"]
    history = queries.order_history(keeper.connection("accounts"), "ACC1", None, START, ledger.ports.clock.zone)
    assert [(o["id"], o["manual_processing"]) for o in history] == [("R-9", True)]  # a boolean, as account show
    assert "account" not in queries.balance(keeper.connection("accounts"), "ACC1", START.date())  # no UUID
    handle(m.RequestReauthorization(account="ACC1", authorization="A1", actor=CSR))
    assert manual(keeper) == ["R-9"]  # a new link sent is not a resolution
    handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A3", token="tok_visa"))
    assert manual(keeper) == []
    live = dump(keeper.connection("accounts"), fresh(["accounts"])[0])
    keeper.rebuild()
    assert dump(keeper.connection("accounts"), fresh(["accounts"])[0]) == live
    keeper.close()


def test_an_order_paid_or_cancelled_otherwise_leaves_the_list(ledger: Ledger, tmp_path: Path) -> None:
    handle = ledger.service.handle
    handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    for order in ("R-1", "R-2", "R-3"):
        handle(m.PlaceOrder(account="ACC1", order=order, amount="99.00", channel="phone"))
        handle(m.AuthorizeCard(account="ACC1", authorization=f"A-{order}", order=order, amount="99.00",
                               token="tok_visa"))
        handle(m.ChangeOrderPrice(account="ACC1", order=order, amount="120.00"))
        handle(m.RequestReauthorization(account="ACC1", authorization=f"A-{order}", actor=CSR))
        handle(m.Reauthorize(account="ACC1", authorization=f"A-{order}", new_authorization=f"B-{order}",
                             token="tok_decline"))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert manual(keeper) == ["R-1", "R-2", "R-3"]
    handle(m.SubmitPayment(account="ACC1", payment="P1", amount="120.00", method="card", token="tok_visa",
                           orders={"R-1": "120.00"}))  # the CSR took another card by phone
    handle(m.CancelOrder(account="ACC1", order="R-2", reason="customer cancelled"))
    assert manual(keeper) == ["R-3"]
    keeper.close()


def test_a_declined_first_cart_is_on_the_list_until_another_card_checks_it_out(ledger: Ledger, tmp_path: Path) -> None:
    """Seed 004: a 0.00 quote's cart link declined at checkout is the CSR team's to process by hand, as a failed
    reauthorization is; the cart's checkout with another card takes it off the list."""
    handle = ledger.service.handle
    handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    handle(m.PlaceOrder(account="ACC1", order="Q1", amount="0.00", channel="phone"))
    handle(m.ChangeOrderPrice(account="ACC1", order="Q1", amount="80.00"))
    cart = handle(m.RequestCart(account="ACC1", order="Q1", actor=CSR)).reference
    raw = ledger.ports.tokens.issue("cart", "ACC1", cart)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    for hold, token in (("H1", "tok_decline"), ("H2", "tok_visa")):
        assert manual(keeper) == ([] if hold == "H1" else ["Q1"])
        handle(m.AuthorizeCard(account="ACC1", authorization=hold, order="Q1", amount="80.00", token=token,
                               cart=cart, cart_token=raw))
    assert manual(keeper) == []
    live = dump(keeper.connection("accounts"), fresh(["accounts"])[0])
    keeper.rebuild()
    assert dump(keeper.connection("accounts"), fresh(["accounts"])[0]) == live
    keeper.close()
