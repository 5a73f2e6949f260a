"""The ledger checks it can record, and writes down what it is about to ask, before the gateway moves money."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.commands import messages as m
from ledger.errors import GatewayUnavailable
from ledger.store.intents import Intent
from tests.ledger_fixtures import START, backend, make_ledger


class WitnessGateway(GatewaySimulator):
    """Notes the store's unresolved intents at the moment each charge is asked."""

    def __init__(self, clock: ManualClock, path: str) -> None:
        super().__init__(clock, path)
        self.book: Any = None
        self.seen: list[list[Intent]] = []

    def charge(self, **kwargs: Any) -> Any:
        self.seen.append(self.book.intents())
        return super().charge(**kwargs)


@pytest.fixture
def witnessed(tmp_path: Path) -> Any:
    clock = ManualClock(START)
    gateway = WitnessGateway(clock, str(tmp_path / "gateway.db"))
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    gateway.book = ledger.store.gateway_book
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))
    yield ledger, gateway
    ledger.close()


def pay(payment: str, token: str = "tok_visa") -> m.SubmitPayment:
    return m.SubmitPayment(account="ACC1", payment=payment, amount="10.00", method="card", token=token,
                           invoices={"I1": "10.00"})


def charges(gateway: GatewaySimulator) -> int:
    return int(gateway._db.execute("select count(*) from gateway_transactions").fetchone()[0])


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's query_only makes the store refuse writes")
def test_a_store_that_refuses_writes_refuses_a_payment_before_the_card_is_charged(witnessed: Any) -> None:
    ledger, gateway = witnessed
    with ledger.store.recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute("pragma query_only = 1")  # as a read-only or immutable store file answers every write
    with pytest.raises(Exception, match="readonly"):
        ledger.service.handle(pay("PA"))
    assert charges(gateway) == 0 and gateway.seen == []


def test_the_intent_is_committed_before_the_charge_and_resolved_once_recorded(witnessed: Any) -> None:
    ledger, gateway = witnessed
    ledger.service.handle(pay("PA"))
    [before] = gateway.seen
    [intent] = before
    assert (intent.account, intent.kind, intent.amount, intent.target) == ("ACC1", "charge", 1000, "PA")
    assert "tok_" not in repr(intent)  # never the token
    assert ledger.store.gateway_book.intents() == []


def test_a_declined_charge_resolves_its_intent(witnessed: Any) -> None:
    ledger, gateway = witnessed
    ledger.service.handle(pay("PD", token="tok_decline"))  # recorded as PaymentDeclined
    assert len(gateway.seen) == 1 and ledger.store.gateway_book.intents() == []


def test_a_lost_answer_leaves_the_intent_for_reconciliation(witnessed: Any) -> None:
    ledger, gateway = witnessed
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(pay("PA"))
    assert charges(gateway) == 1
    assert [i.target for i in ledger.store.gateway_book.intents()] == ["PA"]
