"""A command that asked the gateway for something and then lost the write race to another writer is retried
on fresh state; what the gateway did for it is then recorded or undone, never left unknown to the ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.errors import Conflict, GatewayUnavailable, LedgerError, RecordingFailed
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import START, logged, make_ledger
from workers.autopay import AutopayWorker


class RacingGateway(GatewaySimulator):
    """Runs ``race`` (another writer's command) right after its first answer to ``method``."""

    def __init__(self, clock: ManualClock, path: str) -> None:
        super().__init__(clock, path)
        self.races: dict[str, Callable[[], Any]] = {}

    def _raced(self, method: str, result: Any) -> Any:
        race = self.races.pop(method, None)
        if race is not None:
            race()
        return result

    def charge(self, **kwargs: Any) -> Any:
        return self._raced("charge", super().charge(**kwargs))

    def authorize(self, **kwargs: Any) -> Any:
        return self._raced("authorize", super().authorize(**kwargs))

    def capture(self, **kwargs: Any) -> Any:
        return self._raced("capture", super().capture(**kwargs))

    def statuses(self, kind: str) -> list[str]:
        return [r[0] for r in self._db.execute("select status from gateway_transactions where kind = ? "
                                               "order by created_at, rowid", (kind,))]


@pytest.fixture
def raced(tmp_path: Path) -> Any:
    clock = ManualClock(START)
    gateway = RacingGateway(clock, str(tmp_path / "gateway.db"))
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    yield ledger, gateway
    ledger.close()


def charges(gateway: RacingGateway) -> int:
    return int(gateway._db.execute("select count(*) from gateway_transactions where kind = 'charge'").fetchone()[0])


def test_a_payment_charged_before_another_paid_its_invoice_is_recorded_as_credit(raced: Any) -> None:
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01", due="2026-09-30"))
    gateway.races["charge"] = lambda: s.handle(m.SubmitPayment(
        account="ACC1", payment="PB", amount="10.00", method="card", token="tok_visa", invoices={"I1": "10.00"}))
    first = s.handle(m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card", token="tok_visa",
                                     invoices={"I1": "10.00"}))
    state = ledger.store.account(account_uuid("ACC1")).state
    assert set(state.payments) == {"PA", "PB"} and state.payments["PA"].transaction_id == first.transaction_id
    assert state.balance == 0 and state.credit_balance == 1000  # the second charge is the customer's credit
    assert charges(gateway) == 2 and not violations(logged(ledger))


def test_a_hold_placed_before_its_order_was_cancelled_is_released(raced: Any) -> None:
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="80.00"))
    gateway.races["authorize"] = lambda: s.handle(m.CancelOrder(account="ACC1", order="O1", reason="gone"))
    with pytest.raises(Conflict):
        s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00", token="tok_visa"))
    holds = gateway._db.execute("select status from gateway_transactions where kind = 'authorization'").fetchall()
    assert [h[0] for h in holds] == ["voided"]


def test_a_charge_that_cannot_be_recorded_says_so_and_a_rerun_records_it_once(raced: Any,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01", due="2026-09-30"))
    pay = m.SubmitPayment(account="ACC1", payment="P1", amount="10.00", method="card", token="tok_visa",
                          distribute=True)
    saving = type(ledger.store).save

    def disk_full(self: Any, *objs: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(type(ledger.store), "save", disk_full)
    with pytest.raises(RecordingFailed) as failed:
        s.handle(pay)
    assert failed.value.code == "gateway_acted_not_recorded" and "charge txn_" in failed.value.message
    monkeypatch.setattr(type(ledger.store), "save", saving)
    done = s.handle(pay)
    assert done.transaction_id in failed.value.message  # the same charge, recorded now
    assert charges(gateway) == 1


def held(ledger: Any, amount: str = "100.00") -> None:
    ledger.service.handle(m.PlaceOrder(account="ACC1", order="O1", amount=amount))
    ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount=amount,
                                          token="tok_visa"))


def test_a_reauthorization_whose_order_was_cancelled_meanwhile_releases_the_new_hold(raced: Any) -> None:
    ledger, gateway = raced
    held(ledger)
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1", amount="120.00"))
    gateway.races["authorize"] = lambda: ledger.service.handle(m.CancelOrder(account="ACC1", order="O1",
                                                                              reason="gone"))
    with pytest.raises(Conflict):
        ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"))
    assert gateway.statuses("authorization") == ["voided", "voided"]  # the old by the cancel, the new by us


def test_a_reauthorization_racing_a_price_change_asks_the_gateway_once(raced: Any) -> None:
    ledger, gateway = raced
    held(ledger)
    ledger.service.handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    gateway.races["authorize"] = lambda: ledger.service.handle(m.ChangeOrderPrice(account="ACC1", order="O1",
                                                                                   amount="90.00"))
    done = ledger.service.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2"))
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.authorizations["A2"].amount == 10000  # what the first attempt asked for and the gateway holds
    assert gateway.statuses("authorization") == ["voided", "approved"]  # the old one released once on record
    assert done.transaction_id == state.authorizations["A2"].transaction_id


def test_a_capture_whose_order_was_cancelled_meanwhile_is_refunded(raced: Any) -> None:
    ledger, gateway = raced
    held(ledger)
    gateway.races["capture"] = lambda: ledger.service.handle(m.CancelOrder(account="ACC1", order="O1",
                                                                            reason="gone"))
    with pytest.raises(Conflict):
        ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="C1"))
    assert gateway.statuses("refund") == ["approved"]
    assert "C1" not in ledger.store.account(account_uuid("ACC1")).state.payments



def paid_by_another_after_a_failed_attempt(ledger: Any, gateway: RacingGateway, *, charged: bool) -> Any:
    """PA's first attempt fails at the gateway (``charged``: after it acted, the answer lost), then a CSR takes
    the payment of the same invoice by phone (PB); returns PA's request, to retry."""
    s = ledger.service
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01", due="2026-09-30"))
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card", token="tok_visa",
                          invoices={"I1": "10.00"})
    gateway.fail_next(1, lose_response=charged)
    with pytest.raises(GatewayUnavailable):
        s.handle(pay)
    s.handle(m.SubmitPayment(account="ACC1", payment="PB", amount="10.00", method="card", token="tok_visa",
                             invoices={"I1": "10.00"}))
    return pay


def test_a_charge_whose_answer_was_lost_is_recorded_when_retried_after_the_invoice_was_paid(raced: Any) -> None:
    ledger, gateway = raced
    pay = paid_by_another_after_a_failed_attempt(ledger, gateway, charged=True)
    gateway.fail_next(1)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(pay)  # the gateway cannot say whether it charged: not refused, retried later
    again = ledger.service.handle(pay)  # the payer's retry (or the worker's redelivery)
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["PA"].transaction_id == again.transaction_id and charges(gateway) == 2
    assert state.balance == 0 and state.credit_balance == 1000  # the charge nobody needed is the customer's credit
    assert not violations(logged(ledger))


def test_a_request_that_never_reached_the_gateway_is_refused_once_its_invoice_is_paid(raced: Any) -> None:
    ledger, gateway = raced
    pay = paid_by_another_after_a_failed_attempt(ledger, gateway, charged=False)
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(pay)
    assert refused.value.code == "invoice_paid" and charges(gateway) == 1
    assert "PA" not in ledger.store.account(account_uuid("ACC1")).state.payments


async def test_autopay_redelivered_after_a_lost_answer_records_the_charge_the_invoice_no_longer_needed(
        raced: Any) -> None:
    ledger, gateway = raced
    s = ledger.service
    s.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa", brand="visa",
                                last4="4242", exp_month=1, exp_year=2031))
    s.handle(m.EnableAutopay(account="ACC1"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="25.00", date="2026-09-01", due="2026-09-30"))
    issued = next(e for e in logged(ledger) if isinstance(e, ev.InvoiceIssued))
    worker = AutopayWorker(ledger.store, s)
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        await worker.handle(issued, str(issued.event_id))  # charged; the delivery is not acknowledged
    s.handle(m.SubmitPayment(account="ACC1", payment="PHONE", amount="25.00", method="card", token="tok_visa",
                             invoices={"I1": "25.00"}))
    await worker.handle(issued, str(issued.event_id))  # the redelivery
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["AUTO-I1"].status == "settled" and charges(gateway) == 2
    assert state.balance == 0 and state.credit_balance == 2500


def test_a_retry_under_a_lost_answers_key_is_still_checked_in_full(raced: Any) -> None:
    ledger, gateway = raced
    s = ledger.service
    for invoice, amount in (("I0", "10.00"), ("I1", "10.00"), ("BIG", "5000.00")):
        s.handle(m.IssueInvoice(account="ACC1", invoice=invoice, amount=amount, date="2026-09-01", due="2026-09-30"))
    s.handle(m.SubmitPayment(account="ACC1", payment="PX", amount="10.00", method="card", token="tok_visa",
                             invoices={"I0": "10.00"}))
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="10.00", method="card", token="tok_visa",
                                 invoices={"I1": "10.00"}, key="K"))
    with pytest.raises(LedgerError) as refused:  # a paid invoice named first waives nothing else
        s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="10.00", method="card", token="tok_visa",
                                 invoices={"I0": "10.00", "BIG": "5000.00"}, key="K"))
    assert refused.value.code == "allocation_mismatch"
    state = ledger.store.account(account_uuid("ACC1")).state
    assert "P1" not in state.payments and state.invoices["BIG"].paid == 0


def test_a_refused_hold_never_releases_a_recorded_one_under_the_same_key(raced: Any) -> None:
    ledger, gateway = raced
    s = ledger.service
    for order in ("O1", "O2"):
        s.handle(m.PlaceOrder(account="ACC1", order=order, amount="100.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    with pytest.raises(Conflict) as refused:  # the same id, card and amount (so the same key) for another order
        s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O2", amount="100.00", token="tok_visa"))
    assert refused.value.code == "duplicate_id" and gateway.statuses("authorization") == ["approved"]
    s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="C1"))
