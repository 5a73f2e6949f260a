"""A request whose gateway answer was lost is retried under the same key; a refusal that became true meanwhile
(the saved card expired or was removed, the order was paid, another hold was placed) never leaves what the
gateway did for the first attempt unknown to the ledger."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.aggregates.idempotency import gateway_key, idempotency_key
from ledger.commands import messages as m
from ledger.commands.gateway_calls import guest_charge_key
from ledger.errors import GatewayUnavailable, LedgerError
from ledger.invariants import violations
from ledger.ports.ids import account_uuid, unidentified_uuid
from tests.integration.test_gateway_races import charges, logged, raced  # noqa: F401


def lost(ledger: Any, gateway: Any, cmd: Any) -> None:
    """``cmd`` reaches the gateway, which acts; its answer is lost."""
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(cmd)


def state(ledger: Any) -> Any:
    return ledger.store.account(account_uuid("ACC1")).state


def saved_card(ledger: Any, token: str = "tok_visa", exp_month: int = 9, exp_year: int = 2026) -> None:
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token=token, brand="visa",
                                             last4="4242", exp_month=exp_month, exp_year=exp_year))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))


def paid_by_saved_card_then(ledger: Any, gateway: Any, then: str, *, charged: bool) -> m.SubmitPayment:
    """PA's first attempt by saved card M1 fails at the gateway (``charged``: after it charged, the answer lost),
    then the card expires or is removed; returns PA's request, to retry."""
    saved_card(ledger)
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", saved="M1", invoices={"I1": "10.00"})
    gateway.fail_next(1, lose_response=charged)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(pay)
    if then == "expired":
        gateway.clock.set(datetime(2026, 10, 1, 14, tzinfo=UTC))
    else:
        ledger.service.handle(m.RemovePaymentMethod(account="ACC1", method="M1"))
    return pay


@pytest.mark.parametrize("then", ["expired", "removed"])
def test_a_saved_card_charge_whose_answer_was_lost_is_recorded_though_the_card_expired_or_was_removed(
        raced: Any, then: str) -> None:  # noqa: F811
    ledger, gateway = raced
    pay = paid_by_saved_card_then(ledger, gateway, then, charged=True)
    again = ledger.service.handle(pay)
    paid = state(ledger).payments["PA"]
    assert (paid.status, paid.method, paid.transaction_id) == ("settled", "card", again.transaction_id)
    assert charges(gateway) == 1 and state(ledger).balance == 0 and not violations(logged(ledger))
    assert ledger.service.handle(pay).transaction_id == again.transaction_id and charges(gateway) == 1


@pytest.mark.parametrize("then", ["expired", "removed"])
def test_a_saved_card_that_can_no_longer_pay_is_still_refused_when_nothing_was_charged(
        raced: Any, then: str) -> None:  # noqa: F811
    ledger, gateway = raced
    pay = paid_by_saved_card_then(ledger, gateway, then, charged=False)
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(pay)
    assert refused.value.code == ("card_expired" if then == "expired" else "not_found")
    assert charges(gateway) == 0 and "PA" not in state(ledger).payments


def test_a_saved_method_is_refused_when_its_token_pays_by_another_kind(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    with pytest.raises(LedgerError) as refused:
        saved_card(ledger, token="tok_paypal", exp_month=12, exp_year=2030)
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert "M1" not in state(ledger).methods and charges(gateway) == 0


def test_a_capture_whose_answer_was_lost_is_recorded_as_credit_once_the_order_was_paid(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa"))
    cap = m.CaptureAuthorization(account="ACC1", authorization="A1", payment="CAP1")
    lost(ledger, gateway, cap)
    s.handle(m.SubmitPayment(account="ACC1", payment="PB", amount="10.00", method="card", token="tok_visa",
                             orders={"O1": "10.00"}))
    again = s.handle(cap)
    now = state(ledger)
    assert now.payments["CAP1"].transaction_id == again.transaction_id and now.payments["CAP1"].status == "settled"
    assert gateway.statuses("capture") == ["approved"] and gateway.statuses("refund") == []
    assert now.orders["O1"].open == 0 and now.credit_balance == 1000  # the capture nobody needed is credit
    assert not violations(logged(ledger))


def test_a_capture_never_made_is_refused_once_the_order_was_paid(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa"))
    s.handle(m.SubmitPayment(account="ACC1", payment="PB", amount="10.00", method="card", token="tok_visa",
                             orders={"O1": "10.00"}))
    with pytest.raises(LedgerError) as refused:
        s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="CAP1"))
    assert refused.value.code == "order_paid" and gateway.statuses("capture") == []
    assert "CAP1" not in state(ledger).payments


def test_a_capture_that_lost_the_write_race_to_a_payment_of_its_order_is_recorded_as_credit(
        raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa"))
    gateway.races["capture"] = lambda: s.handle(m.SubmitPayment(
        account="ACC1", payment="PB", amount="10.00", method="card", token="tok_visa", orders={"O1": "10.00"}))
    done = s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="CAP1"))
    now = state(ledger)
    assert now.payments["CAP1"].transaction_id == done.transaction_id and now.credit_balance == 1000
    assert gateway.statuses("capture") == ["approved"] and gateway.statuses("refund") == []
    assert not violations(logged(ledger))


def test_a_hold_whose_answer_was_lost_is_recorded_though_another_hold_covers_the_order(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    hold = m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa")
    lost(ledger, gateway, hold)
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A2", order="O1", amount="10.00", token="tok_visa"))
    again = s.handle(hold)
    holds = state(ledger).authorizations
    assert holds["A1"].status == "active" and holds["A1"].transaction_id == again.transaction_id
    assert gateway.statuses("authorization") == ["approved", "approved"]  # one per id, each on record
    assert {holds["A1"].transaction_id, holds["A2"].transaction_id} == set(
        r[0] for r in gateway._db.execute("select id from gateway_transactions where kind = 'authorization'"))
    s.handle(m.VoidAuthorization(account="ACC1", authorization="A2", reason="one hold is enough"))
    assert gateway.statuses("authorization") == ["approved", "voided"]


def test_a_hold_whose_answer_was_lost_is_recorded_though_a_pending_ach_covers_the_order(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    hold = m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa")
    lost(ledger, gateway, hold)
    s.handle(m.SubmitPayment(account="ACC1", payment="ACH1", amount="10.00", method="ach", token="tok_ach",
                             orders={"O1": "10.00"}))
    again = s.handle(hold)
    assert state(ledger).authorizations["A1"].transaction_id == again.transaction_id
    with pytest.raises(LedgerError) as refused:  # none placed: refused, naming the pending payment
        s.handle(m.AuthorizeCard(account="ACC1", authorization="A3", order="O1", amount="10.00", token="tok_visa"))
    assert refused.value.code == "pending_payment" and "ACH1" in str(refused.value)


def test_a_hold_beyond_the_live_holds_is_still_refused_when_none_was_placed(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A2", order="O1", amount="10.00", token="tok_visa"))
    with pytest.raises(LedgerError) as refused:
        s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00", token="tok_visa"))
    assert refused.value.code == "exceeds_amount_due" and gateway.statuses("authorization") == ["approved"]


def test_a_hold_that_lost_the_write_race_to_another_hold_is_recorded(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="10.00"))
    gateway.races["authorize"] = lambda: s.handle(m.AuthorizeCard(
        account="ACC1", authorization="A2", order="O1", amount="10.00", token="tok_visa"))
    done = s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="10.00",
                                    token="tok_visa"))
    holds = state(ledger).authorizations
    assert holds["A1"].transaction_id == done.transaction_id and holds["A2"].status == "active"
    assert gateway.statuses("authorization") == ["approved", "approved"]


def guest(token: str = "tok_visa", reference: str = "order 1234") -> m.ReceiveUnidentifiedPayment:
    return m.ReceiveUnidentifiedPayment(payment="G1", amount="10.00", currency="USD", method="card", token=token,
                                        reference=reference)


@pytest.mark.parametrize(("token", "reference", "code"), [("tok_visa", " ", "reference_required"),
                                                          ("tok_paypal", "order 1234", "token_method_mismatch")])
def test_a_guest_payment_charged_before_a_refusal_applied_is_recorded_on_retry(
        raced: Any, token: str, reference: str, code: str) -> None:  # noqa: F811
    ledger, gateway = raced
    with pytest.raises(LedgerError) as refused:  # never charged: refused, the gateway not asked
        ledger.service.handle(guest(token, reference))
    assert refused.value.code == code and charges(gateway) == 0
    # the first attempt, made before this refusal was checked, charged; its answer was lost
    earlier = gateway.charge(token=token, amount=1000, currency="USD", method="card", idempotency_key=guest_charge_key(
        unidentified_uuid("G1"), idempotency_key(None, "unidentified:G1")))
    done = ledger.service.handle(guest(token, reference))
    assert done.status == "awaiting_research" and done.transaction_id == earlier.transaction_id
    kept = ledger.store.unidentified(unidentified_uuid("G1")).received
    assert (kept.transaction_id, kept.amount) == (earlier.transaction_id, 1000) and charges(gateway) == 1


def test_a_payment_charged_before_its_token_was_checked_against_its_method_is_recorded_on_retry(
        raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card", token="tok_paypal",
                          invoices={"I1": "10.00"})
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(pay)
    assert refused.value.code == "token_method_mismatch" and charges(gateway) == 0
    earlier = gateway.charge(token="tok_paypal", amount=1000, currency="USD", method="card", idempotency_key=(
        gateway_key(account_uuid("ACC1"), idempotency_key(None, "payment:PA"))))  # the attempt before the check
    assert ledger.service.handle(pay).transaction_id == earlier.transaction_id
    assert state(ledger).payments["PA"].status == "settled" and state(ledger).balance == 0 and charges(gateway) == 1
