"""The gateway simulator behaves like a card / ACH gateway: the one stand-in for a real counterpart (seeds 003, 004)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.errors import Conflict, GatewayUnavailable, NotFound, ValidationError
from ledger.ports.gateway import AchReport, ChargeResult, Gateway

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def gateway(clock: ManualClock) -> GatewaySimulator:
    return GatewaySimulator(clock)


def pay(gateway: Gateway, key: str, token: str = "tok_visa", amount: int = 1000, method: Any = "card",
        currency: str = "USD") -> ChargeResult:
    return gateway.charge(token=token, amount=amount, currency=currency, method=method, idempotency_key=key)


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("select id, token, amount, status from gateway_transactions").fetchall()


@pytest.mark.parametrize(("token", "method", "status", "code"), [
    ("tok_visa", "card", "approved", None), ("tok_mastercard", "card", "approved", None),
    ("tok_amex", "card", "approved", None), ("tok_paypal", "paypal", "approved", None),
    ("tok_decline", "card", "declined", "card_declined"),
    ("tok_insufficient_funds", "card", "declined", "insufficient_funds"),
    ("tok_expired_card", "card", "declined", "expired_card"), ("tok_decline", "paypal", "declined", "card_declined"),
    ("tok_nosuchcard", "card", "declined", "invalid_token"), ("tok_ach", "card", "declined", "invalid_token"),
    ("tok_ach", "ach", "pending", None), ("tok_ach_return", "ach", "pending", None),
    ("tok_visa", "ach", "declined", "invalid_bank_account"),
])
def test_cards_and_paypal_answer_at_once_ach_is_pending(gateway: GatewaySimulator, token: str, method: str,
                                                        status: str, code: str | None) -> None:
    result = pay(gateway, f"k-{token}-{method}", token=token, method=method)
    assert (result.status, result.decline_code) == (status, code)
    assert re.fullmatch(r"txn_[0-9a-f]{24}", result.transaction_id) and result.message


@pytest.mark.parametrize("number", ["4242 4242 4242 4242", "4242-4242-4242-4242", "4242424242424242",
                                    "tok_4242424242424242", "5555 5555 5555 4444", "3782 822463 10005"])
def test_raw_card_numbers_are_refused_and_never_stored(tmp_path: Path, clock: ManualClock, number: str) -> None:
    gateway = GatewaySimulator(clock, str(tmp_path / "gateway.db"))
    for call in (lambda: pay(gateway, "x", token=number),
                 lambda: gateway.authorize(token=number, amount=1, currency="USD", idempotency_key="y")):
        with pytest.raises(ValidationError) as caught:
            call()
        assert (caught.value.code, caught.value.field) == ("raw_card_number", "token")
        assert number not in caught.value.message
    assert rows(tmp_path / "gateway.db") == []
    assert pay(gateway, "x").status == "approved"


def test_the_same_key_is_the_same_transaction_and_charges_once(tmp_path: Path, clock: ManualClock) -> None:
    gateway = GatewaySimulator(clock, str(tmp_path / "gateway.db"))
    first = pay(gateway, "k")
    assert pay(gateway, "k") == first
    assert len(rows(tmp_path / "gateway.db")) == 1
    assert gateway.refund(transaction_id=first.transaction_id, amount=1000, idempotency_key="r").status == "approved"
    again = gateway.refund(transaction_id=first.transaction_id, amount=1, idempotency_key="r2")
    assert again.decline_code == "refund_exceeds_charge"  # one charge of 1000 was made, not two
    declined = pay(gateway, "d", token="tok_decline")
    assert pay(gateway, "d", token="tok_decline") == declined  # a decline is an answer too


@pytest.mark.parametrize("change", [{"amount": 2000}, {"token": "tok_mastercard"}, {"currency": "CAD"},
                                   {"method": "paypal"}])
def test_a_key_reused_for_another_request_is_refused(gateway: GatewaySimulator, change: dict[str, Any]) -> None:
    pay(gateway, "k")
    with pytest.raises(Conflict) as caught:
        pay(gateway, "k", **change)
    assert caught.value.code == "idempotency_key_reused"


def test_a_key_belongs_to_one_operation(gateway: GatewaySimulator) -> None:
    charge = pay(gateway, "k")
    with pytest.raises(Conflict):
        gateway.refund(transaction_id=charge.transaction_id, amount=1, idempotency_key="k")
    with pytest.raises(Conflict):
        gateway.authorize(token="tok_visa", amount=1000, currency="USD", idempotency_key="k")


def test_transaction_ids_are_deterministic_per_key(clock: ManualClock) -> None:
    one, two = GatewaySimulator(clock), GatewaySimulator(clock)
    assert pay(one, "order-7").transaction_id == pay(two, "order-7").transaction_id
    assert pay(one, "order-8").transaction_id != pay(one, "order-7").transaction_id


def test_ach_is_pending_until_the_bank_settles_and_may_return_later(gateway: GatewaySimulator) -> None:
    ach = pay(gateway, "a1", token="tok_ach", amount=5000, method="ach")
    assert ach.status == "pending" and gateway.ach_status(ach.transaction_id).status == "pending"
    gateway.settle_ach(ach.transaction_id)
    gateway.settle_ach(ach.transaction_id)  # the same bank notice twice is harmless
    assert gateway.ach_status(ach.transaction_id).status == "settled"
    gateway.return_ach(ach.transaction_id, code="R02")  # days after settling
    gateway.return_ach(ach.transaction_id)
    assert gateway.ach_status(ach.transaction_id).status == "returned"
    with pytest.raises(Conflict) as caught:
        gateway.settle_ach(ach.transaction_id)
    assert caught.value.code == "ach_returned"
    assert pay(gateway, "a1", token="tok_ach", amount=5000, method="ach") == ach  # the first answer, unchanged


def test_a_pending_debit_can_be_returned_before_it_settles(gateway: GatewaySimulator) -> None:
    ach = pay(gateway, "a1", token="tok_ach", method="ach")
    gateway.return_ach(ach.transaction_id, "R01")
    assert gateway.ach_status(ach.transaction_id).status == "returned"
    with pytest.raises(ValidationError):
        gateway.return_ach(ach.transaction_id, "")


def test_advance_ach_settles_good_debits_and_returns_bad_ones(gateway: GatewaySimulator) -> None:
    good = pay(gateway, "g", token="tok_ach", method="ach")
    bad = pay(gateway, "b", token="tok_ach_return", method="ach")
    card = pay(gateway, "c")
    assert gateway.ach_status(bad.transaction_id).status == "pending"
    assert dict(gateway.advance_ach()) == {good.transaction_id: "settled", bad.transaction_id: "returned"}
    assert (gateway.ach_status(good.transaction_id), gateway.ach_status(bad.transaction_id)) == (
        AchReport("settled"), AchReport("returned", "R01"))
    assert gateway.advance_ach() == []
    for not_ach in (card.transaction_id, pay(gateway, "v", method="ach").transaction_id, "txn_nothing"):
        with pytest.raises(NotFound):
            gateway.ach_status(not_ach)
    with pytest.raises(NotFound):
        gateway.settle_ach(card.transaction_id)


def test_an_authorization_holds_29_days_and_captures_within_the_amount(gateway: GatewaySimulator,
                                                                        clock: ManualClock) -> None:
    auth = gateway.authorize(token="tok_visa", amount=10000, currency="USD", idempotency_key="auth")
    assert auth.status == "approved" and auth.expires_at == T0 + timedelta(days=29)
    over = gateway.capture(transaction_id=auth.transaction_id, amount=10001, idempotency_key="c0")
    assert (over.status, over.decline_code) == ("declined", "amount_exceeds_authorization")
    part = gateway.capture(transaction_id=auth.transaction_id, amount=6000, idempotency_key="c1")
    assert part.status == "approved" and part.transaction_id != auth.transaction_id
    assert gateway.capture(transaction_id=auth.transaction_id, amount=6000, idempotency_key="c1") == part
    rest = gateway.capture(transaction_id=auth.transaction_id, amount=4001, idempotency_key="c2")
    assert rest.decline_code == "amount_exceeds_authorization"
    clock.advance(days=29, seconds=-1)
    assert gateway.capture(transaction_id=auth.transaction_id, amount=4000, idempotency_key="c3").status == "approved"


def test_an_expired_authorization_cannot_be_captured(gateway: GatewaySimulator, clock: ManualClock) -> None:
    auth = gateway.authorize(token="tok_paypal", amount=10000, currency="USD", idempotency_key="auth")
    clock.advance(days=29)
    late = gateway.capture(transaction_id=auth.transaction_id, amount=100, idempotency_key="late")
    assert (late.status, late.decline_code) == ("declined", "authorization_expired")


@pytest.mark.parametrize(("token", "code"), [("tok_decline", "card_declined"), ("tok_expired_card", "expired_card"),
                                             ("tok_ach", "authorization_not_supported"), ("tok_zzz", "invalid_token")])
def test_declined_authorizations_hold_nothing(gateway: GatewaySimulator, token: str, code: str) -> None:
    auth = gateway.authorize(token=token, amount=100, currency="USD", idempotency_key="a")
    assert (auth.status, auth.decline_code, auth.expires_at) == ("declined", code, None)
    capture = gateway.capture(transaction_id=auth.transaction_id, amount=1, idempotency_key="c")
    assert capture.decline_code == "unknown_authorization"
    assert gateway.void(transaction_id=auth.transaction_id).decline_code == "unknown_authorization"


def test_a_voided_hold_is_released(gateway: GatewaySimulator) -> None:
    auth = gateway.authorize(token="tok_visa", amount=100, currency="USD", idempotency_key="a")
    assert gateway.void(transaction_id=auth.transaction_id).status == "approved"
    assert gateway.void(transaction_id=auth.transaction_id).status == "approved"
    late = gateway.capture(transaction_id=auth.transaction_id, amount=1, idempotency_key="v")
    assert late.decline_code == "authorization_voided"
    for unknown in ("txn_unknown", pay(gateway, "sale").transaction_id):
        assert gateway.void(transaction_id=unknown).decline_code == "unknown_authorization"
    assert gateway.capture(transaction_id="txn_unknown", amount=1, idempotency_key="u").status == "declined"


def test_a_hold_past_its_29_days_released_itself_and_a_void_says_so(gateway: GatewaySimulator,
                                                                     clock: ManualClock) -> None:
    auth = gateway.authorize(token="tok_visa", amount=100, currency="USD", idempotency_key="a")
    released = gateway.authorize(token="tok_visa", amount=100, currency="USD", idempotency_key="b")
    assert gateway.void(transaction_id=released.transaction_id).status == "approved"
    clock.advance(days=29)
    late = gateway.void(transaction_id=auth.transaction_id)
    assert (late.status, late.decline_code) == ("declined", "authorization_expired")
    assert gateway.void(transaction_id=released.transaction_id).status == "approved"  # twice is still harmless
    assert [t.live for t in gateway.transactions(since=T0)] == [False, False]


def test_refunds_never_exceed_what_was_charged(gateway: GatewaySimulator) -> None:
    charge = pay(gateway, "ch")
    assert gateway.refund(transaction_id=charge.transaction_id, amount=600, idempotency_key="r1").status == "approved"
    assert gateway.refund(transaction_id=charge.transaction_id, amount=600, idempotency_key="r1").status == "approved"
    too_much = gateway.refund(transaction_id=charge.transaction_id, amount=401, idempotency_key="r2")
    assert (too_much.status, too_much.decline_code) == ("declined", "refund_exceeds_charge")
    assert gateway.refund(transaction_id=charge.transaction_id, amount=400, idempotency_key="r3").status == "approved"


def test_refunds_of_captures_and_of_ach_debits(gateway: GatewaySimulator) -> None:
    auth = gateway.authorize(token="tok_visa", amount=5000, currency="USD", idempotency_key="a")
    capture = gateway.capture(transaction_id=auth.transaction_id, amount=3000, idempotency_key="c")
    assert gateway.refund(transaction_id=auth.transaction_id, amount=1, idempotency_key="r0").decline_code == (
        "unknown_transaction")
    assert gateway.refund(transaction_id=capture.transaction_id, amount=3001, idempotency_key="r1").decline_code == (
        "refund_exceeds_charge")
    assert gateway.refund(transaction_id=capture.transaction_id, amount=3000, idempotency_key="r2").status == "approved"
    ach = pay(gateway, "ach", token="tok_ach", method="ach")
    assert gateway.refund(transaction_id=ach.transaction_id, amount=1, idempotency_key="r3").decline_code == (
        "transaction_pending")
    gateway.settle_ach(ach.transaction_id)
    assert gateway.refund(transaction_id=ach.transaction_id, amount=1, idempotency_key="r4").status == "approved"
    gateway.return_ach(ach.transaction_id)
    assert gateway.refund(transaction_id=ach.transaction_id, amount=1, idempotency_key="r5").decline_code == (
        "transaction_returned")
    declined = pay(gateway, "d", token="tok_decline")
    assert gateway.refund(transaction_id=declined.transaction_id, amount=1, idempotency_key="r6").decline_code == (
        "unknown_transaction")


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": 0}, "amount"), ({"amount": -5}, "amount"), ({"amount": 10.5}, "amount"), ({"amount": True}, "amount"),
    ({"amount": "10.00"}, "amount"), ({"currency": "XYZ"}, "currency"), ({"method": "cash"}, "method"),
    ({"token": ""}, "token"), ({"token": "tok visa"}, "token"), ({"token": "tok_" + "a" * 200}, "token"),
    ({"key": ""}, "key"),
])
def test_malformed_requests_are_refused(gateway: GatewaySimulator, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        pay(gateway, **{"key": "k", **change})
    assert caught.value.field == field
    assert pay(gateway, "k").status == "approved"  # nothing was recorded under the key


def test_an_outage_raises_and_does_nothing(gateway: GatewaySimulator) -> None:
    gateway.fail_next(2)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            pay(gateway, "o")
    assert pay(gateway, "o", amount=7).status == "approved"  # no Conflict: the failed calls left no trace
    gateway.fail_next(1)
    with pytest.raises(GatewayUnavailable):
        gateway.void(transaction_id="txn_x")
    assert gateway.void(transaction_id="txn_x").status == "declined"


def test_a_lost_answer_is_recovered_by_retrying_with_the_same_key(tmp_path: Path, clock: ManualClock) -> None:
    gateway = GatewaySimulator(clock, str(tmp_path / "gateway.db"))
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        pay(gateway, "timeout")
    assert len(rows(tmp_path / "gateway.db")) == 1  # the gateway acted before the answer was lost
    retry = pay(gateway, "timeout")
    assert retry.status == "approved" and len(rows(tmp_path / "gateway.db")) == 1


def test_state_is_shared_through_the_file(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "var" / "gateway.db")
    first = GatewaySimulator(clock, path)
    ach = pay(first, "shared", token="tok_ach", method="ach")
    auth = first.authorize(token="tok_visa", amount=900, currency="USD", idempotency_key="hold")
    second = GatewaySimulator(clock, path)
    second.settle_ach(ach.transaction_id)
    assert first.ach_status(ach.transaction_id).status == "settled"
    assert pay(second, "shared", token="tok_ach", method="ach") == ach
    with pytest.raises(Conflict):
        pay(second, "shared", token="tok_ach", amount=2, method="ach")
    assert second.capture(transaction_id=auth.transaction_id, amount=900, idempotency_key="cap").status == "approved"
    assert first.capture(transaction_id=auth.transaction_id, amount=1, idempotency_key="cap2").decline_code == (
        "amount_exceeds_authorization")
    first.close()
    second.close()
    assert GatewaySimulator(clock, path).ach_status(ach.transaction_id).status == "settled"


def run_elsewhere(path: Path, code: str) -> subprocess.Popen[bytes]:
    script = ("import sys; from datetime import datetime, UTC; from ledger.adapters.clock import ManualClock;"
              "from ledger.adapters.gateway_simulator import GatewaySimulator;"
              f"gw = GatewaySimulator(ManualClock(datetime(2026, 9, 1, tzinfo=UTC)), {str(path)!r}); {code}")
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_another_process_settles_and_concurrent_processes_charge_once(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "gateway.db"
    gateway = GatewaySimulator(clock, str(path))
    ach = pay(gateway, "a", token="tok_ach", method="ach")
    assert run_elsewhere(path, f"gw.settle_ach({ach.transaction_id!r})").wait(timeout=60) == 0
    assert gateway.ach_status(ach.transaction_id).status == "settled"
    charge = ("sys.stdout.write(gw.charge(token='tok_visa', amount=500, currency='USD', method='card',"
              " idempotency_key='race').transaction_id)")
    racers = [run_elsewhere(path, charge) for _ in range(5)]
    answers = {racer.communicate(timeout=60)[0].decode() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert answers == {pay(gateway, "race", amount=500).transaction_id}
    assert len(rows(path)) == 2


def test_a_file_from_the_earlier_schema_keeps_its_history(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "gateway.db"
    with sqlite3.connect(path) as db:
        db.execute("create table gateway_transactions (id text primary key, idem_key text unique, kind text not null,"
                   " request text not null, token text, amount integer not null, currency text, method text,"
                   " status text not null, decline_code text, created_at text not null, expires_at text,"
                   " parent text, used integer not null default 0)")
        db.execute("insert into gateway_transactions values ('txn_old', 'k', 'charge',"
                   " 'charge|tok_ach|100|USD|ach', 'tok_ach', 100, 'USD', 'ach', 'returned', 'R01', '', null, null, 0)")
    gateway = GatewaySimulator(clock, str(path))
    assert gateway.ach_status("txn_old") == AchReport("returned", "R01")
    assert pay(gateway, "k", token="tok_ach", amount=100, method="ach") == ChargeResult(
        "txn_old", "pending", None, "Pending at the bank.")


def test_the_bank_decides_a_debit_by_itself_after_the_clearing_time(gateway: GatewaySimulator,
                                                                     clock: ManualClock) -> None:
    good = pay(gateway, "g", token="tok_ach", method="ach")
    bad = pay(gateway, "b", token="tok_ach_return", method="ach")
    clock.advance(days=2, hours=23)
    assert gateway.ach_status(bad.transaction_id) == AchReport("pending")
    clock.advance(hours=1)
    assert gateway.ach_status(bad.transaction_id) == AchReport("returned", "R01")
    assert gateway.ach_status(good.transaction_id) == AchReport("settled")
    gateway.return_ach(good.transaction_id, "R02")  # a return days after it settled
    assert gateway.ach_status(good.transaction_id) == AchReport("returned", "R02")
