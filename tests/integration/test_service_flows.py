"""Handlers end to end through the service: a real SQLite file, the gateway simulator, a manual clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import Expired, LedgerError, PolicyViolation
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import START, make_ledger

pytestmark = pytest.mark.usefixtures("store_backend")

CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ledger(tmp_path: Path, clock: ManualClock) -> Ledger:
    built = make_ledger(tmp_path, clock=clock)
    built.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    yield built  # type: ignore[misc]
    built.close()


def state(ledger: Ledger):  # type: ignore[no-untyped-def]
    return ledger.store.account(account_uuid("ACC1")).state


def all_events(ledger: Ledger) -> list[object]:
    return [ledger.store.mapper.to_domain_event(n)
            for n in ledger.store.recorder.select_notifications(start=1, limit=10_000)]


def test_invitation_link_is_regenerated_from_the_secret_and_expires(ledger: Ledger, clock: ManualClock) -> None:
    sent = ledger.service.handle(m.SendInvitation(account="ACC1", actor=CSR))
    raw = ledger.ports.tokens.issue("invitation", "ACC1", sent.reference, "0")
    clock.advance(hours=73)
    with pytest.raises(Expired):
        ledger.service.handle(m.AcceptInvitation(account="ACC1", token=raw))
    ledger.service.handle(m.ExpireInvitation(account="ACC1"))
    ledger.service.handle(m.ResendInvitation(account="ACC1", actor=CSR))
    fresh = ledger.ports.tokens.issue("invitation", "ACC1", sent.reference, "1")
    with pytest.raises(PolicyViolation):
        ledger.service.handle(m.AcceptInvitation(account="ACC1", token=raw))
    ledger.service.handle(m.AcceptInvitation(account="ACC1", token=fresh))
    assert state(ledger).invitation.status == "accepted"
    stored = b"".join(n.state for n in ledger.store.recorder.select_notifications(start=1, limit=100))
    assert raw.encode() not in stored and fresh.encode() not in stored


def test_guest_payment_waits_for_research_then_lands_on_the_order(ledger: Ledger) -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="ORD-1", amount="500.00", channel="pos"))
    received = ledger.service.handle(m.ReceiveUnidentifiedPayment(payment="WEB-1", amount="200.00", currency="USD",
                                                                  method="card", token="tok_visa",
                                                                  reference="order 0RD-1?"))
    assert received.status == "awaiting_research"
    ledger.service.handle(m.ReferToAccounting(payment="WEB-1", note="typo in order number", actor=CSR))
    matched = ledger.service.handle(m.MatchPayment(payment="WEB-1", account="ACC1", order="ORD-1", actor=CSR))
    assert matched.transaction_id == received.transaction_id
    assert state(ledger).orders["ORD-1"].paid == 20000
    assert ledger.service.handle(m.MatchPayment(payment="WEB-1", account="ACC1", order="ORD-1")).replayed
    assert not violations(all_events(ledger))


def test_card_authorization_expiry_reauthorization_failure_and_capture(ledger: Ledger, clock: ManualClock) -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="R-1", amount="150.00", channel="csr"))
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="R-1", amount="150.00",
                                          token="tok_visa"))
    clock.advance(days=29)
    with pytest.raises(Expired):
        ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="C1"))
    ledger.service.handle(m.ExpireAuthorization(account="ACC1", authorization="A1"))
    ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="R-1", amount="240.00"))
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1", actor=CSR))
    failed = ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2",
                                                 token="tok_decline"))
    assert failed.status == "manual_processing"
    assert state(ledger).orders["R-1"].manual_processing
    again = ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1", actor=CSR))
    assert again.events == ("ReauthorizationRequested",)
    ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A3"))
    assert not state(ledger).orders["R-1"].manual_processing
    ledger.service.handle(m.ReplaceOrder(account="ACC1", order="R-1", new_order="R-2", amount="240.00"))
    captured = ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A3", payment="C1"))
    assert captured.status == "settled"
    assert state(ledger).orders["R-2"].paid == 24000
    with pytest.raises(PolicyViolation, match="balance due"):  # nothing is due on R-2 any more
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A9", order="R-2", amount="1.00",
                                              token="tok_visa"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="R-3", amount="1.00", channel="csr"))
    with pytest.raises(LedgerError):
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A9", order="R-3", amount="1.00",
                                              token="tok_decline"))
    assert "A9" not in state(ledger).authorizations
    retried = ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A9", order="R-3", amount="1.00",
                                                    token="tok_visa"))  # the same hold with another card
    assert retried.status == "active"


def test_cancelled_order_voids_its_hold_at_the_gateway(tmp_path: Path, clock: ManualClock) -> None:
    gateway = GatewaySimulator(clock)
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount="80.00"))
    held = ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00",
                                                 token="tok_visa"))
    ledger.service.handle(m.CancelOrder(account="ACC1", order="O1", reason="customer cancelled"))
    assert state(ledger).authorizations["A1"].status == "voided"
    late = gateway.capture(transaction_id=held.transaction_id or "", amount=100, idempotency_key="late")
    assert late.decline_code == "authorization_voided"
    ledger.close()


def test_refunds_go_through_the_gateway(ledger: Ledger) -> None:
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01",
                                         due="2026-09-30"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="130.00", method="card",
                                          token="tok_visa", distribute=True))
    refund = ledger.service.handle(m.RefundPayment(account="ACC1", payment="P1", amount="30.00"))
    assert refund.transaction_id and refund.transaction_id.startswith("txn_")
    assert ledger.service.handle(m.RefundPayment(account="ACC1", payment="P1", amount="30.00")).replayed
    assert state(ledger).credit_balance == 0 and state(ledger).balance == 0
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="CM1", amount="5.00", reference="sorry"))
    paid_out = ledger.service.handle(m.RefundCredit(account="ACC1", credit="CM1", amount="5.00"))
    assert paid_out.transaction_id and paid_out.transaction_id.startswith("MANUAL-REFUND")
    assert not violations(all_events(ledger))


def test_autopay_and_saved_methods(ledger: Ledger) -> None:
    with pytest.raises(PolicyViolation):
        ledger.service.handle(m.EnableAutopay(account="ACC1"))
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa",
                                             brand="visa", last4="4242", exp_month=12, exp_year=2030))
    with pytest.raises(LedgerError) as caught:
        ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M2", kind="card",
                                                 token="5555 5555 5555 4444", brand="mc", last4="4444",
                                                 exp_month=1, exp_year=2031))
    assert caught.value.code == "raw_card_number"
    ledger.service.handle(m.EnableAutopay(account="ACC1"))
    assert state(ledger).autopay_method == "M1"


def test_gateway_outage_writes_nothing_and_a_retry_succeeds(tmp_path: Path, clock: ManualClock) -> None:
    gateway = GatewaySimulator(clock)
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    before = ledger.store.recorder.max_notification_id()
    gateway.fail_next(1)
    pay = m.SubmitPayment(account="ACC1", payment="P1", amount="10.00", method="card", token="tok_visa",
                          deposit=True)
    with pytest.raises(LedgerError) as caught:
        ledger.service.handle(pay)
    assert caught.value.code == "gateway_unavailable"
    assert ledger.store.recorder.max_notification_id() == before
    assert ledger.service.handle(pay).status == "settled"
    ledger.close()
