"""A hold is voided at the gateway only once the ledger has decided the void (review finding 4).

The gateway was asked to void first: ``order cancel`` of an invoiced order (refused ``order_not_open``) left its
hold voided at the gateway and active in the ledger, so its capture was then declined; ``auth void`` of a captured
hold voided it at the gateway before it was refused; and a void the gateway refused (``unknown_authorization``)
was recorded as done. The ledger now decides first, then asks the gateway, then records what it answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.commands.reconciliation import GRACE, reconcile
from ledger.errors import LedgerError, PolicyViolation
from ledger.ports.gateway import ChargeResult
from tests.integration.test_reauthorization import events, state
from tests.ledger_fixtures import START, make_ledger


def holds_at_gateway(ledger: Ledger) -> list[tuple[str, bool]]:
    return [(t.status, t.live) for t in ledger.ports.gateway.transactions(since=START) if t.kind == "authorization"]


def place(ledger: Ledger) -> None:
    handle = ledger.service.handle
    handle(m.OpenAccount(account="ACC1", email="k@example.com"))
    handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    handle(m.AuthorizeCard(account="ACC1", authorization="AU1", order="O1", amount="100.00", token="tok_visa"))


def test_cancelling_an_invoiced_order_leaves_its_hold_live_at_the_gateway_and_in_the_ledger(ledger: Ledger) -> None:
    place(ledger)
    handle = ledger.service.handle
    handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01", due="2026-10-01",
                          order="O1"))
    with pytest.raises(LedgerError) as refused:
        handle(m.CancelOrder(account="ACC1", order="O1", reason="customer asked"))
    assert refused.value.code == "order_not_open"
    assert holds_at_gateway(ledger) == [("approved", True)]  # the gateway was not asked to void it
    assert state(ledger).authorizations["AU1"].status == "active"
    handle(m.CaptureAuthorization(account="ACC1", authorization="AU1", payment="CAP"))  # so it can still be captured
    assert state(ledger).payments["CAP"].status == "settled"
    assert state(ledger).invoices["I1"].open == 0


def test_cancelling_an_open_order_voids_its_hold_at_the_gateway_and_in_the_ledger(ledger: Ledger) -> None:
    place(ledger)
    ledger.service.handle(m.CancelOrder(account="ACC1", order="O1", reason="customer asked"))
    assert holds_at_gateway(ledger) == [("voided", False)]
    assert state(ledger).authorizations["AU1"].status == "voided"


def test_voiding_a_captured_hold_is_refused_and_the_gateway_is_not_asked(ledger: Ledger) -> None:
    place(ledger)
    handle = ledger.service.handle
    handle(m.CaptureAuthorization(account="ACC1", authorization="AU1", payment="CAP"))
    before, written = holds_at_gateway(ledger), len(events(ledger))
    with pytest.raises(LedgerError) as refused:
        handle(m.VoidAuthorization(account="ACC1", authorization="AU1", reason="mistake"))
    assert (refused.value.code, refused.value.field) == ("not_voidable", "authorization")
    assert holds_at_gateway(ledger) == before and before[0][0] != "voided"  # the gateway untouched
    assert state(ledger).authorizations["AU1"].status == "captured" and len(events(ledger)) == written


class ForgetfulGateway(GatewaySimulator):
    """A gateway with no record of some holds (another merchant account, a hold purged on its side)."""

    def __init__(self, clock: ManualClock, path: str) -> None:
        super().__init__(clock, path)
        self.forgotten: set[str] = set()

    def void(self, *, transaction_id: str) -> ChargeResult:
        if transaction_id in self.forgotten:
            return ChargeResult(transaction_id, "declined", "unknown_authorization", "No such authorization.")
        return super().void(transaction_id=transaction_id)


@pytest.mark.parametrize("command", ["void", "cancel"])
def test_a_void_the_gateway_refuses_is_not_recorded(tmp_path: Path, command: str) -> None:
    clock = ManualClock(START)
    gateway = ForgetfulGateway(clock, str(tmp_path / "gateway.db"))
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    try:
        place(ledger)
        gateway.forgotten = {state(ledger).authorizations["AU1"].transaction_id}
        written = len(events(ledger))
        with pytest.raises(PolicyViolation) as refused:
            ledger.service.handle(m.VoidAuthorization(account="ACC1", authorization="AU1", reason="not needed")
                                  if command == "void" else m.CancelOrder(account="ACC1", order="O1"))
        assert (refused.value.code, refused.value.field) == ("unknown_authorization", "authorization")
        assert state(ledger).authorizations["AU1"].status == "active"  # for the CSR to look into
        assert state(ledger).orders["O1"].status == "open"
        assert len(events(ledger)) == written
        assert not [e for e in events(ledger) if isinstance(e, ev.AuthorizationVoided)]
    finally:
        ledger.close()


def test_voiding_an_expired_hold_is_recorded_though_the_gateway_says_it_expired(ledger: Ledger) -> None:
    place(ledger)
    ledger.ports.clock.advance(days=30)  # type: ignore[attr-defined]
    outcome = ledger.service.handle(m.VoidAuthorization(account="ACC1", authorization="AU1", reason="not needed"))
    assert outcome.status == "voided" and state(ledger).authorizations["AU1"].status == "voided"


def test_a_hold_released_by_a_refused_cancel_is_recorded_voided_by_reconciliation(tmp_path: Path) -> None:
    """Review: an order with two holds whose cancel released the first at the gateway, then was refused for the
    second (the gateway no longer knew it), left the first voided at the gateway and active in the ledger, and
    reconciliation looked only at holds still live at the gateway. It now records the void the gateway made."""
    clock = ManualClock(START)
    gateway = ForgetfulGateway(clock, str(tmp_path / "gateway.db"))
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    try:
        place(ledger)
        handle = ledger.service.handle
        handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
        handle(m.AuthorizeCard(account="ACC1", authorization="AU2", order="O1", amount="50.00", token="tok_visa"))
        gateway.forgotten = {state(ledger).authorizations["AU2"].transaction_id}
        with pytest.raises(PolicyViolation):
            handle(m.CancelOrder(account="ACC1", order="O1"))
        assert state(ledger).authorizations["AU1"].status == "active"  # the ledger wrote nothing ...
        assert ("voided", False) in holds_at_gateway(ledger)  # ... but the gateway released AU1
        clock.advance(seconds=GRACE.total_seconds())
        report = reconcile(ledger.store, ledger.ports)
        assert report.recorded == 1 and report.flagged == 0
        assert state(ledger).authorizations["AU1"].status == "voided"
        assert state(ledger).authorizations["AU2"].status == "active"  # for the CSR to look into
        assert reconcile(ledger.store, ledger.ports).recorded == 0  # once
    finally:
        ledger.close()
