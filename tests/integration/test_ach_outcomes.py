"""ACH outcomes reach the ledger by themselves (seed 003: pending, then an email saying success or failure): the
scheduler asks the gateway about every pending ACH payment and records the bank's decision."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates.limits import MAX_AMOUNT, MAX_BALANCE, owed
from ledger.cli.main import cli
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.money import format_amount
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import START, LedgerCli, make_ledger
from workers.ach import pending_ach, reconcile_ach


def with_invoice(tmp_path: Path, amount: str) -> tuple[Any, ManualClock]:
    """A ledger whose gateway simulator runs on the same clock (the bank decides by it), with ACC1 owing I1."""
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock, gateway=GatewaySimulator(clock, str(tmp_path / "gateway.db")))
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount=amount, date="2026-09-01",
                                         due="2026-09-30"))
    return ledger, clock


def test_pending_ach_payments_settle_or_come_back_when_the_bank_has_decided(tmp_path: Path) -> None:
    ledger, clock = with_invoice(tmp_path, "50.00")
    s = ledger.service
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="50.00", method="ach", token="tok_ach",
                             distribute=True))
    s.handle(m.SubmitPayment(account="ACC1", payment="P2", amount="20.00", method="ach", token="tok_ach_return",
                             deposit=True))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert reconcile_ach(ledger, keeper) == 0  # the bank has not decided yet
    assert [(p, s) for _, p, _, s in pending_ach(keeper.connection("accounts"), clock.now())] == [
        ("P1", "pending"), ("P2", "pending")]
    clock.advance(days=3)
    assert reconcile_ach(ledger, keeper) == 2
    state = ledger.store.account(account_uuid("ACC1")).state
    assert (state.payments["P1"].status, state.payments["P2"].status) == ("settled", "returned")
    assert state.invoices["I1"].open == 0 and state.credit_balance == 0 and state.balance == 0
    returned = [e for e in ledger.store.events.get(account_uuid("ACC1")) if type(e).__name__ == "PaymentReturned"]
    assert [(e.return_code, e.by.kind, e.by.name, e.by.channel) for e in returned] == [("R01", "worker", "ach",
                                                                                       "gateway")]
    assert reconcile_ach(ledger, keeper) == 0
    db = keeper.connection("accounts")
    assert [p for _, p, _, _ in pending_ach(db, clock.now())] == ["P1"]  # settled lately: a return may come
    assert pending_ach(db, clock.now(), settled=False) == []  # the scheduler's every-pass question
    clock.advance(days=6)  # past the return watch: the settled one is not asked about any more
    assert pending_ach(keeper.connection("accounts"), clock.now()) == []
    keeper.close()
    ledger.close()


def test_a_debit_settled_by_hand_that_the_bank_returns_is_returned(tmp_path: Path) -> None:
    ledger, clock = with_invoice(tmp_path, "30.00")
    s = ledger.service
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="30.00", method="ach", token="tok_ach_return",
                             distribute=True))
    clock.advance(days=1)
    s.handle(m.SettlePayment(account="ACC1", payment="P1"))  # a CSR, before the bank decided
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert reconcile_ach(ledger, keeper) == 0  # the bank has not decided: nothing to record
    clock.advance(days=3)
    assert reconcile_ach(ledger, keeper) == 1
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["P1"].status == "returned" and state.invoices["I1"].open == 3000
    keeper.close()
    ledger.close()


def test_payment_reconcile_on_the_cli(tmp_path: Path) -> None:
    run = LedgerCli(tmp_path)

    def at(instant: str, *args: str) -> str:
        result = run.runner.invoke(cli, ["--json", "--at", instant, *args], env=run.env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    at("2026-09-10T09:00", "account", "open", "X", "--email", "x@example.com")
    at("2026-09-10T09:00", "payment", "submit", "X", "P1", "--amount", "25.00", "--method", "ach", "--token",
       "tok_ach_return", "--deposit")
    assert json.loads(at("2026-09-11T09:00", "payment", "reconcile")) == {"recorded": 0}
    later = (START + timedelta(days=14)).isoformat()
    assert json.loads(at(later, "payment", "reconcile")) == {"recorded": 1}
    [payment] = json.loads(at(later, "account", "payments", "X"))
    assert payment["status"] == "returned"


def test_a_return_after_a_later_card_payment_reallocates_it_as_if_the_ach_never_came(tmp_path: Path) -> None:
    """Seeds review (helper-19): I1 100.00 and a 20.00 memo credit, ACH 80.00 distributed and settled, I2 100.00,
    a card payment of 50.00 distributed, then the ACH payment returned: the account owes 130.00 with no credit
    (I1 30.00, I2 100.00), as it would without the ACH payment; before, it owed 150.00 and held 20.00."""
    ledger = make_ledger(tmp_path)
    s = ledger.service
    s.handle(m.OpenAccount(account="X1", email="x1@example.com"))
    s.handle(m.IssueInvoice(account="X1", invoice="I1", amount="100.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.IssueCredit(account="X1", credit="M", amount="20.00", reference="memo"))
    s.handle(m.SubmitPayment(account="X1", payment="P1", amount="80.00", method="ach", token="tok_ach",
                             distribute=True))
    s.handle(m.SettlePayment(account="X1", payment="P1"))
    s.handle(m.IssueInvoice(account="X1", invoice="I2", amount="100.00", date="2026-10-05", due="2026-10-30"))
    s.handle(m.SubmitPayment(account="X1", payment="P2", amount="50.00", method="card", token="tok_visa",
                             distribute=True))
    s.handle(m.ReturnPayment(account="X1", payment="P1", code="R01"))
    state = ledger.store.account(account_uuid("X1")).state
    assert (state.balance, state.credit_balance) == (13000, 0)
    assert (state.invoices["I1"].open, state.invoices["I2"].open) == (3000, 10000)
    ledger.close()


def test_a_write_between_loading_the_account_and_reading_its_history_is_retried(
        tmp_path: Path, monkeypatch: Any) -> None:
    """Another process pays between the return's load of the account and its read of the history (review):
    the history is read up to the loaded version, the save conflicts, the retry re-allocates that payment too."""
    from ledger.commands.unit import Unit

    ledger, other = make_ledger(tmp_path), make_ledger(tmp_path)
    s = ledger.service
    s.handle(m.OpenAccount(account="X1", email="x1@example.com"))
    s.handle(m.IssueInvoice(account="X1", invoice="I1", amount="100.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.SubmitPayment(account="X1", payment="P1", amount="80.00", method="ach", token="tok_ach",
                             distribute=True))
    s.handle(m.SettlePayment(account="X1", payment="P1"))
    s.handle(m.IssueInvoice(account="X1", invoice="I2", amount="100.00", date="2026-10-05", due="2026-10-30"))
    loading, raced = Unit.account, []

    def account(self: Unit, account_id: str) -> Any:
        found = loading(self, account_id)
        if not raced:
            raced.append(True)
            other.service.handle(m.SubmitPayment(account="X1", payment="P2", amount="50.00", method="card",
                                                 token="tok_visa", distribute=True))
        return found

    monkeypatch.setattr(Unit, "account", account)
    s.handle(m.ReturnPayment(account="X1", payment="P1", code="R01"))
    state = ledger.store.account(account_uuid("X1")).state
    assert (state.invoices["I1"].open, state.invoices["I2"].open) == (5000, 10000)
    ledger.close()
    other.close()


def test_an_ach_return_is_recorded_even_when_the_account_then_owes_more_than_the_balance_limit(
        tmp_path: Path) -> None:
    """The bank has taken the money back: the return cannot be refused (README, limits), so the account may
    owe more than MAX_BALANCE afterwards; only new invoices and orders are refused."""
    ledger, clock = with_invoice(tmp_path, format_amount(MAX_AMOUNT, "USD"))
    s = ledger.service
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount=format_amount(MAX_AMOUNT, "USD"), method="ach",
                             token="tok_ach_return", invoices={"I1": format_amount(MAX_AMOUNT, "USD")}))
    clock.advance(days=1)
    s.handle(m.SettlePayment(account="ACC1", payment="P1"))  # a CSR, before the bank decided: I1 is paid
    for n in range(MAX_BALANCE // MAX_AMOUNT):  # owe up to the limit again
        s.handle(m.IssueInvoice(account="ACC1", invoice=f"J{n}", amount=format_amount(MAX_AMOUNT, "USD"),
                                date="2026-09-01", due="2026-09-30"))
    with pytest.raises(LedgerError) as refused:
        s.handle(m.IssueInvoice(account="ACC1", invoice="JX", amount="0.01", date="2026-09-01", due="2026-09-30"))
    assert refused.value.code == "balance_limit"
    clock.advance(days=3)
    assert reconcile_ach(ledger, ProjectionKeeper(ledger.store, tmp_path)) == 1
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["P1"].status == "returned"
    assert owed(state) == MAX_BALANCE + MAX_AMOUNT
