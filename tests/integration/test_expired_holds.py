"""Issue 14, seed 004: the CSR never loses sight of a hold that expired on an unpaid order.

"Authorizations are good for 29 days": the dashboard lists those about to expire, and an expired hold on an
order still unpaid stays there until it is reauthorized, voided or the order paid or cancelled (a hold is
voided also once its expiry is on record: the CSR clears a hold that will not be reauthorized); its expiry is
recorded once, however often the cart link is re-triggered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper
from tests.integration.test_reauthorization import events
from workers.expiry import expire_due

CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


def board(ledger: Ledger, keeper: ProjectionKeeper) -> list[tuple[Any, Any]]:
    keeper.catch_up()
    rows = queries.dashboard(keeper.connection("accounts"), ledger.ports.clock.now(), 3)["expiring_authorizations"]
    return [(row["authorization"], row["status"]) for row in rows]


def place(ledger: Ledger) -> None:
    handle = ledger.service.handle
    handle(m.OpenAccount(account="ACC1", email="c@example.com"))
    for order in ("R-1", "R-2", "R-3"):
        handle(m.PlaceOrder(account="ACC1", order=order, amount="99.00", channel="phone"))
        handle(m.AuthorizeCard(account="ACC1", authorization=f"A-{order}", order=order, amount="99.00",
                               token="tok_visa"))


def test_an_expired_hold_stays_on_the_dashboard_until_resolved(ledger: Ledger, tmp_path: Path) -> None:
    place(ledger)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    ledger.ports.clock.advance(days=27)  # type: ignore[attr-defined]
    assert board(ledger, keeper) == [("A-R-1", "active"), ("A-R-2", "active"), ("A-R-3", "active")]
    ledger.ports.clock.advance(days=2, seconds=1)  # type: ignore[attr-defined]
    assert board(ledger, keeper) == [("A-R-1", "expired"), ("A-R-2", "expired"), ("A-R-3", "expired")]
    assert expire_due(ledger, keeper) == 3
    assert board(ledger, keeper) == [("A-R-1", "expired"), ("A-R-2", "expired"), ("A-R-3", "expired")]
    handle = ledger.service.handle
    handle(m.SubmitPayment(account="ACC1", payment="P1", amount="99.00", method="card", token="tok_visa",
                           orders={"R-1": "99.00"}))
    handle(m.CancelOrder(account="ACC1", order="R-2", reason="customer cancelled", actor=CSR))
    assert board(ledger, keeper) == [("A-R-3", "expired")]
    handle(m.RequestReauthorization(account="ACC1", authorization="A-R-3", actor=CSR))
    assert board(ledger, keeper) == [("A-R-3", "reauth_requested")]
    handle(m.Reauthorize(account="ACC1", authorization="A-R-3", new_authorization="B-R-3", token="tok_visa"))
    assert board(ledger, keeper) == []
    keeper.close()


def test_an_expiry_is_recorded_once_however_often_the_cart_is_re_triggered(ledger: Ledger, tmp_path: Path) -> None:
    place(ledger)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    ledger.ports.clock.advance(days=30)  # type: ignore[attr-defined]
    assert expire_due(ledger, keeper) == 3
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A-R-1", actor=CSR))
    ledger.ports.clock.advance(seconds=30)  # type: ignore[attr-defined]
    assert expire_due(ledger, keeper) == 0
    expired = [e.authorization_id for e in events(ledger) if isinstance(e, ev.AuthorizationExpired)]
    assert sorted(expired) == ["A-R-1", "A-R-2", "A-R-3"]
    assert ledger.store.account(account_uuid("ACC1")).state.authorizations["A-R-1"].status == "reauth_requested"
    assert ("A-R-1", "reauth_requested") in board(ledger, keeper)
    keeper.close()


def test_an_expired_hold_leaves_the_dashboard_when_the_csr_voids_it(ledger: Ledger, tmp_path: Path) -> None:
    place(ledger)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    ledger.ports.clock.advance(days=30)  # type: ignore[attr-defined]
    assert expire_due(ledger, keeper) == 3
    assert ("A-R-1", "expired") in board(ledger, keeper)
    outcome = ledger.service.handle(m.VoidAuthorization(account="ACC1", authorization="A-R-1",
                                                        reason="customer will pay on delivery", actor=CSR))
    assert (outcome.status, outcome.events) == ("voided", ("AuthorizationVoided",))
    voided = [e for e in events(ledger) if isinstance(e, ev.AuthorizationVoided)]
    assert [(e.authorization_id, e.reason) for e in voided] == [("A-R-1", "customer will pay on delivery")]
    assert board(ledger, keeper) == [("A-R-2", "expired"), ("A-R-3", "expired")]
    again = ledger.service.handle(m.VoidAuthorization(account="ACC1", authorization="A-R-1", actor=CSR))
    assert (again.status, again.replayed) == ("voided", True)
    keeper.close()


def test_a_cart_sent_before_the_expiry_was_recorded_stays_requested(ledger: Ledger, tmp_path: Path) -> None:
    place(ledger)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    ledger.ports.clock.advance(days=30)  # type: ignore[attr-defined]
    assert ("A-R-1", "expired") in board(ledger, keeper)  # shown expired, not yet recorded: the CSR re-triggers
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A-R-1", actor=CSR))
    assert ("A-R-1", "reauth_requested") in board(ledger, keeper)
    assert expire_due(ledger, keeper) == 3  # the scheduler's next run records the expiry, once
    ledger.ports.clock.advance(seconds=30)  # type: ignore[attr-defined]
    assert expire_due(ledger, keeper) == 0
    assert [e.authorization_id for e in events(ledger) if isinstance(e, ev.AuthorizationExpired)].count("A-R-1") == 1
    hold = ledger.store.account(account_uuid("ACC1")).state.authorizations["A-R-1"]
    assert (hold.status, hold.expired) == ("reauth_requested", True)
    assert sorted(board(ledger, keeper)) == [("A-R-1", "reauth_requested"), ("A-R-2", "expired"),
                                             ("A-R-3", "expired")]
    outcome = ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A-R-1", new_authorization="B-R-1",
                                                  token="tok_visa"))
    assert outcome.status == "active"
    assert sorted(board(ledger, keeper)) == [("A-R-2", "expired"), ("A-R-3", "expired")]
    keeper.close()
