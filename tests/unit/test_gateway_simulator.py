"""The gateway simulator behaves like a card / ACH gateway: the one stand-in for a real counterpart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.errors import Conflict, GatewayUnavailable, ValidationError

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def gateway(clock: ManualClock) -> GatewaySimulator:
    return GatewaySimulator(clock)


@pytest.mark.parametrize(("token", "status", "code"), [
    ("tok_visa", "approved", None), ("tok_mastercard", "approved", None), ("tok_paypal", "approved", None),
    ("tok_decline", "declined", "card_declined"), ("tok_insufficient_funds", "declined", "insufficient_funds"),
    ("tok_expired_card", "declined", "expired_card"), ("tok_unknown", "declined", "invalid_token"),
])
def test_cards_approve_or_decline_at_once(gateway: GatewaySimulator, token: str, status: str,
                                          code: str | None) -> None:
    result = gateway.charge(token=token, amount=1000, currency="USD", method="card", idempotency_key=token)
    assert (result.status, result.decline_code) == (status, code)
    assert result.transaction_id.startswith("txn_") and len(result.transaction_id) == 28


def test_same_key_is_the_same_transaction_and_another_request_is_refused(gateway: GatewaySimulator) -> None:
    first = gateway.charge(token="tok_visa", amount=1000, currency="USD", method="card", idempotency_key="k")
    again = gateway.charge(token="tok_visa", amount=1000, currency="USD", method="card", idempotency_key="k")
    assert first == again
    with pytest.raises(Conflict) as caught:
        gateway.charge(token="tok_visa", amount=2000, currency="USD", method="card", idempotency_key="k")
    assert caught.value.code == "idempotency_key_reused"


def test_ach_is_pending_then_settles_or_returns_even_after_settling(gateway: GatewaySimulator) -> None:
    ach = gateway.charge(token="tok_ach", amount=5000, currency="USD", method="ach", idempotency_key="a1")
    assert ach.status == "pending" and gateway.ach_status(ach.transaction_id) == "pending"
    gateway.settle_ach(ach.transaction_id)
    assert gateway.ach_status(ach.transaction_id) == "settled"
    gateway.return_ach(ach.transaction_id, "R01")
    assert gateway.ach_status(ach.transaction_id) == "returned"
    with pytest.raises(Conflict):
        gateway.settle_ach(ach.transaction_id)


def test_advance_ach_settles_good_debits_and_returns_bad_ones(gateway: GatewaySimulator) -> None:
    good = gateway.charge(token="tok_ach", amount=1, currency="USD", method="ach", idempotency_key="g")
    bad = gateway.charge(token="tok_ach_return", amount=1, currency="USD", method="ach", idempotency_key="b")
    assert dict(gateway.advance_ach()) == {good.transaction_id: "settled", bad.transaction_id: "returned"}
    card_on_ach = gateway.charge(token="tok_visa", amount=1, currency="USD", method="ach", idempotency_key="c")
    assert card_on_ach.decline_code == "invalid_bank_account"


def test_authorization_holds_29_days_and_captures_within_the_amount(gateway: GatewaySimulator,
                                                                     clock: ManualClock) -> None:
    auth = gateway.authorize(token="tok_visa", amount=10000, currency="USD", idempotency_key="auth")
    assert auth.status == "approved" and auth.expires_at is not None
    assert (auth.expires_at - T0).days == 29
    over = gateway.capture(transaction_id=auth.transaction_id, amount=10001, idempotency_key="c0")
    assert over.decline_code == "amount_exceeds_authorization"
    part = gateway.capture(transaction_id=auth.transaction_id, amount=6000, idempotency_key="c1")
    assert part.status == "approved"
    rest = gateway.capture(transaction_id=auth.transaction_id, amount=5000, idempotency_key="c2")
    assert rest.decline_code == "amount_exceeds_authorization"


def test_expired_authorization_cannot_be_captured(gateway: GatewaySimulator, clock: ManualClock) -> None:
    auth = gateway.authorize(token="tok_visa", amount=10000, currency="USD", idempotency_key="auth")
    clock.advance(days=29)
    late = gateway.capture(transaction_id=auth.transaction_id, amount=100, idempotency_key="late")
    assert late.decline_code == "authorization_expired"
    voided = gateway.authorize(token="tok_visa", amount=100, currency="USD", idempotency_key="auth2")
    gateway.void(transaction_id=voided.transaction_id)
    assert gateway.capture(transaction_id=voided.transaction_id, amount=1,
                           idempotency_key="v").decline_code == "authorization_voided"


def test_refunds_never_exceed_the_charge(gateway: GatewaySimulator) -> None:
    charge = gateway.charge(token="tok_visa", amount=1000, currency="USD", method="card", idempotency_key="ch")
    assert gateway.refund(transaction_id=charge.transaction_id, amount=600, idempotency_key="r1").status == "approved"
    too_much = gateway.refund(transaction_id=charge.transaction_id, amount=500, idempotency_key="r2")
    assert too_much.decline_code == "refund_exceeds_charge"


def test_raw_card_numbers_are_refused(gateway: GatewaySimulator) -> None:
    with pytest.raises(ValidationError) as caught:
        gateway.charge(token="4242 4242 4242 4242", amount=1, currency="USD", method="card", idempotency_key="x")
    assert caught.value.code == "raw_card_number" and caught.value.field == "token"


def test_outages_raise_and_charge_nothing(gateway: GatewaySimulator) -> None:
    gateway.fail_next(1)
    with pytest.raises(GatewayUnavailable):
        gateway.charge(token="tok_visa", amount=1, currency="USD", method="card", idempotency_key="o")
    assert gateway.charge(token="tok_visa", amount=1, currency="USD", method="card",
                          idempotency_key="o").status == "approved"


def test_state_is_shared_through_the_file(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "gateway.db")
    first = GatewaySimulator(clock, path)
    ach = first.charge(token="tok_ach", amount=1, currency="USD", method="ach", idempotency_key="shared")
    second = GatewaySimulator(clock, path)
    second.settle_ach(ach.transaction_id)
    assert first.ach_status(ach.transaction_id) == "settled"
    replay = second.charge(token="tok_ach", amount=1, currency="USD", method="ach", idempotency_key="shared")
    assert replay.transaction_id == ach.transaction_id and replay.status == "approved"  # its current state
