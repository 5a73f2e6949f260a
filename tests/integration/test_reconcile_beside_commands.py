"""Reconciliation beside live commands: a retried hold whose hold reconcile voided, a ``--since`` run that
must not drop intents it never examined, and holds and charges recorded while reconcile reads the log."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.commands.reconciliation import GRACE, Report, reconcile
from ledger.errors import GatewayUnavailable, PolicyViolation
from ledger.ports.ids import account_uuid
from tests.integration.test_gateway_reconciliation import books  # noqa: F401  (the fixture)
from tests.ledger_fixtures import START


def lost_hold(ledger: Any, gateway: Any) -> m.AuthorizeCard:
    """A hold placed at the gateway whose answer was lost (the ledger records nothing); its command."""
    hold = m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00", token="tok_visa",
                           key="hold-A1")
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(hold)
    return hold


def test_a_retried_hold_after_reconcile_voided_it_is_not_recorded_as_live(books: Any) -> None:  # noqa: F811
    ledger, gateway, clock = books
    hold = lost_hold(ledger, gateway)
    clock.advance(seconds=GRACE.total_seconds() + 1)
    assert reconcile(ledger.store, ledger.ports) == Report(voided=1, intents_resolved=1)
    with pytest.raises(PolicyViolation) as refused:
        ledger.service.handle(hold)  # the client's retry, same key: the gateway would answer the voided hold
    assert refused.value.code == "authorization_released"
    state = ledger.store.account(account_uuid("ACC1")).state
    live_in_ledger = [a for a in state.authorizations.values() if a.status == "active"]
    live_at_gateway = [t for t in gateway.transactions(since=START) if t.kind == "authorization" and t.live]
    assert len(live_in_ledger) == len(live_at_gateway) == 0, (live_in_ledger, live_at_gateway)


def test_reconcile_since_a_later_instant_does_not_drop_intents_it_never_examined(books: Any) -> None:  # noqa: F811
    ledger, gateway, clock = books
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card",
                                              token="tok_visa", invoices={"I1": "10.00"}, key="pay-PA"))
    clock.advance(seconds=7200)
    reconcile(ledger.store, ledger.ports, since=clock.now() - timedelta(hours=1))  # operator: "last hour"
    report = reconcile(ledger.store, ledger.ports)  # the scheduler's default 35-day look-back
    assert report.recorded == 1 and report.flagged == 0, report


def test_a_hold_and_a_charge_recorded_while_reconcile_reads_the_log_are_left_alone(
        books: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from ledger.commands import reconciliation
    ledger, gateway, _ = books
    original = reconciliation._Ledger.read

    def read_while_serve_runs_commands(store: Any) -> Any:  # serve's scheduler reconciles beside live commands
        seen = original(store)
        ledger.service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00",
                                              token="tok_visa"))
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", method="card",
                                              token="tok_visa", invoices={"I1": "10.00"}))
        return seen

    monkeypatch.setattr(reconciliation._Ledger, "read", staticmethod(read_while_serve_runs_commands))
    report = reconcile(ledger.store, ledger.ports)
    live = [t for t in gateway.transactions(since=START) if t.kind == "authorization" and t.live]
    assert report.voided == 0 and len(live) == 1 and ledger.store.gateway_book.flagged() == [], report


def test_a_hold_whose_retry_records_it_while_reconcile_reads_the_log_is_not_voided(
        books: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from ledger.commands import reconciliation
    ledger, gateway, clock = books
    hold = lost_hold(ledger, gateway)
    clock.advance(seconds=GRACE.total_seconds() + 1)  # listed, and older than GRACE: decided by this run
    original = reconciliation._Ledger.read

    def read_while_the_client_retries(store: Any) -> Any:
        seen = original(store)
        ledger.service.handle(hold)  # the retry records the hold after the run read the log
        return seen

    monkeypatch.setattr(reconciliation._Ledger, "read", staticmethod(read_while_the_client_retries))
    report = reconcile(ledger.store, ledger.ports)
    state = ledger.store.account(account_uuid("ACC1")).state
    live = [t for t in gateway.transactions(since=START) if t.kind == "authorization" and t.live]
    assert report.voided == 0 and len(live) == 1 and state.authorizations["A1"].status == "active", report
