"""Every scenario of the demo (guest payment researched and matched, portal payment, ACH return, expired hold,
repricing, cart reauthorization, replacement, capture) and more refunds and voids: verification finds nothing,
live projections equal a rebuild, the statement and as-of balances agree with the account."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ledger import demo
from ledger.adapters.clock import ManualClock
from ledger.commands import messages as m
from ledger.money import format_amount
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from replay.asof import balances_as_of
from replay.export import records
from replay.statement import statement
from replay.verify import verify
from tests.ledger_fixtures import START, make_ledger


def test_the_demo_scenarios_verify_clean(tmp_path: Path) -> None:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    demo.guest_payment(ledger)
    keeper.catch_up()  # live, in several steps
    demo.web_pay(ledger)
    demo.ach_return(ledger)
    keeper.catch_up()
    clock.advance(hours=1)
    demo.reauthorization(ledger, clock)
    ledger.service.handle(m.OpenAccount(account="R1", email="r@example.com"))
    ledger.service.handle(m.IssueInvoice(account="R1", invoice="I1", amount="80.00", date="2026-09-01",
                                         due="2026-09-30"))
    ledger.service.handle(m.SubmitPayment(account="R1", payment="P1", amount="100.00", method="card",
                                          token="tok_visa", distribute=True))
    ledger.service.handle(m.RefundPayment(account="R1", payment="P1", amount="20.00"))
    ledger.service.handle(m.VoidInvoice(account="R1", invoice="I1"))
    result = verify(ledger.store, keeper)
    assert result.ok, result.findings
    assert result.events == ledger.store.recorder.max_notification_id()
    now = clock.now() + timedelta(seconds=1)
    as_of = {a.account: (a.balance, a.credit_balance) for a in balances_as_of(ledger.store, now).accounts}
    for account, balances in as_of.items():
        state = ledger.store.account(account_uuid(account)).state
        assert balances == (format_amount(state.balance, state.currency),
                            format_amount(state.credit_balance, state.currency))
    r1 = statement(ledger.store, "R1", START.date(), now.date(), clock.zone)
    assert (r1.opening_balance, r1.closing_balance) == ("0.00", "0.00")
    assert as_of["R1"] == ("0.00", "80.00")
    exported = list(records(ledger.store, START - timedelta(days=1), now))
    assert all(len(r["account"]) < 36 for r in exported)  # every record names a business id, never a UUID
    assert any(r["account"].startswith("research ") for r in exported)  # the guest payment awaiting research
    keeper.close()
    ledger.close()
