"""``ledger gateway reconcile``: every gateway transaction is matched to the ledger, holds it does not want are
voided, money it has not recorded is put on the reconciliation list, and stale intents are resolved."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates.idempotency import gateway_key
from ledger.commands import messages as m
from ledger.commands.reconciliation import GRACE, Report, reconcile
from ledger.errors import GatewayUnavailable
from ledger.invariants import violations
from ledger.nats_api.api import handle_read
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import START, LedgerCli, logged, make_ledger
from workers import expiry


@pytest.fixture
def books(tmp_path: Path) -> Any:
    clock = ManualClock(START)
    gateway = GatewaySimulator(clock, str(tmp_path / "gateway.db"))
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    s = ledger.service
    s.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="80.00"))
    yield ledger, gateway, clock
    ledger.close()


def run(ledger: Any, gateway: GatewaySimulator, clock: ManualClock) -> Report:
    return reconcile(ledger.store, ledger.ports)


def charges(gateway: GatewaySimulator) -> int:
    return int(gateway._db.execute("select count(*) from gateway_transactions where kind = 'charge'").fetchone()[0])


def live_holds(gateway: GatewaySimulator) -> int:
    return sum(t.live for t in gateway.transactions(since=START - timedelta(days=1)))


def test_the_gateway_lists_its_transactions_page_by_page(books: Any) -> None:
    _, gateway, clock = books
    for n in range(5):
        clock.advance(seconds=1)
        gateway.charge(token="tok_visa", amount=100 + n, currency="USD", method="card", idempotency_key=f"k{n}")
    first = gateway.transactions(since=START, limit=2)
    rest = gateway.transactions(since=START, after=first[-1].transaction_id, limit=10)
    assert [t.amount for t in first + rest] == [100, 101, 102, 103, 104]
    assert all(t.kind == "charge" and t.status == "approved" and not t.live for t in first + rest)


def test_recorded_transactions_match_and_leave_nothing_to_do(books: Any) -> None:
    ledger, gateway, clock = books
    s = ledger.service
    s.handle(m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card", token="tok_visa",
                             invoices={"I1": "10.00"}))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00", token="tok_visa"))
    clock.advance(seconds=GRACE.total_seconds())
    assert run(ledger, gateway, clock) == Report(matched=2)
    assert ledger.store.gateway_book.flagged() == [] and live_holds(gateway) == 1


def test_a_charge_whose_answer_was_lost_is_recorded_by_its_command(books: Any) -> None:
    ledger, gateway, clock = books
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card", token="tok_visa",
                          invoices={"I1": "10.00"}, key="pay-PA")
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(pay)
    assert run(ledger, gateway, clock) == Report(in_flight=1)  # its command may still record it
    clock.advance(seconds=GRACE.total_seconds())
    assert run(ledger, gateway, clock) == Report(recorded=1, intents_resolved=1)
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["PA"].transaction_id and state.balance == 0
    assert ledger.service.handle(pay).replayed  # the payer's retry is the same payment, not a key reused
    assert run(ledger, gateway, clock) == Report(matched=1) and charges(gateway) == 1


def test_a_lost_charge_whose_invoice_was_paid_meanwhile_is_recorded_as_credit(books: Any) -> None:
    ledger, gateway, clock = books
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card",
                                              token="tok_visa", invoices={"I1": "10.00"}))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="PB", amount="10.00", method="paypal",
                                          token="tok_paypal", invoices={"I1": "10.00"}))
    clock.advance(seconds=GRACE.total_seconds())
    assert run(ledger, gateway, clock) == Report(matched=1, recorded=1, intents_resolved=1)
    state = ledger.store.account(account_uuid("ACC1")).state
    assert set(state.payments) == {"PA", "PB"} and state.balance == 0 and state.credit_balance == 1000
    assert violations(logged(ledger)) == []


def test_a_hold_whose_answer_was_lost_and_whose_order_was_cancelled_is_voided(books: Any) -> None:
    ledger, gateway, clock = books
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00",
                                              token="tok_visa"))
    ledger.service.handle(m.CancelOrder(account="ACC1", order="O1"))
    assert live_holds(gateway) == 1
    clock.advance(seconds=GRACE.total_seconds())
    assert run(ledger, gateway, clock) == Report(voided=1, intents_resolved=1)
    assert live_holds(gateway) == 0 and ledger.store.gateway_book.intents() == []
    assert run(ledger, gateway, clock) == Report(matched=1)


def test_a_hold_replaced_by_a_reauthorization_but_never_released_is_voided(books: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, gateway, clock = books
    s = ledger.service
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00", token="tok_visa"))
    s.handle(m.RequestReauthorization(account="ACC1", authorization="A1", amount="120.00"))

    def unreachable(**_: Any) -> Any:
        raise GatewayUnavailable("the release of the old hold is lost in an outage")

    monkeypatch.setattr(gateway, "void", unreachable)
    s.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"))
    monkeypatch.undo()
    assert live_holds(gateway) == 2
    clock.advance(seconds=GRACE.total_seconds())
    assert run(ledger, gateway, clock) == Report(matched=1, voided=1)
    assert live_holds(gateway) == 1


def test_the_cli_reconciles_lists_and_settles_what_the_ledger_lacks(tmp_path: Path) -> None:
    run_cli = LedgerCli(tmp_path)
    assert run_cli("account", "open", "ACC1", "--email", "a@example.com").exit_code == 0
    elsewhere = GatewaySimulator(ManualClock(START), str(tmp_path / "gateway.db"))  # charged, never recorded
    lost = elsewhere.charge(token="tok_visa", amount=2500, currency="USD", method="card",
                            idempotency_key=gateway_key(account_uuid("ACC1"), "pay-X"))
    elsewhere.close()
    done = run_cli("gateway", "reconcile", "--since", "2026-08-01T00:00")
    assert done.exit_code == 0 and done.output.strip().splitlines()[-1] == (
        "matched 0, recorded 0, voided 0, flagged 1, intents_resolved 0, in_flight 0")
    assert "gateway_transaction_unrecorded" in done.output  # the error log line for the on-call
    [item] = json.loads(run_cli("--json", "gateway", "reconciliation").output)
    assert item["transaction_id"] == lost.transaction_id and item["action"].startswith("no command was kept")
    assert item["account"] == "ACC1"  # read from the key's aggregate id: no intent was kept for it
    again = run_cli("gateway", "reconcile", "--since", "2026-08-01T00:00")
    assert again.output.strip().splitlines()[-1].endswith("flagged 1, intents_resolved 0, in_flight 0")
    assert "gateway_transaction_unrecorded" not in again.output  # the on-call is paged once, not every run
    assert "--key pay-X" in item["action"]
    board = json.loads(run_cli("--json", "dashboard").output)
    assert [i["transaction_id"] for i in board["reconciliation"]] == [lost.transaction_id]
    served = make_ledger(tmp_path)  # the CSR dashboard over NATS (ledger.read.dashboard) lists it too
    kept = ProjectionKeeper(served.store, tmp_path)
    try:
        read = msgspec.json.decode(handle_read(served, kept, "dashboard", b"{}"))["ok"]
        assert [(i["transaction_id"], i["action"]) for i in read["reconciliation"]] == [
            (lost.transaction_id, item["action"])]
    finally:
        kept.close()
        served.close()
    assert run_cli("gateway", "settled", lost.transaction_id).exit_code == 0
    assert json.loads(run_cli("--json", "gateway", "reconciliation").output) == []
    assert run_cli("gateway", "settled", lost.transaction_id).exit_code == 2


async def test_the_scheduler_of_serve_reconciles(books: Any) -> None:
    ledger, gateway, clock = books
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00",
                                              token="tok_visa"))
    ledger.service.handle(m.CancelOrder(account="ACC1", order="O1"))
    clock.advance(seconds=GRACE.total_seconds())
    stop = asyncio.Event()
    kept = ledger.keeper()
    task = asyncio.create_task(expiry.run(ledger, kept, stop, every=0.01))
    for _ in range(500):
        if not live_holds(gateway):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    kept.close()
    assert live_holds(gateway) == 0 and ledger.store.gateway_book.intents() == []
