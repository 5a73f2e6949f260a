"""Issue 15: random histories near the limits (amounts around the largest one, accounts filled up to what they
may owe and hold) through the real command service; every refusal is a typed one, no account passes the
limits, and every read model, the replay and ``audit verify`` stay healthy and exact."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.aggregates.limits import MAX_AMOUNT, MAX_BALANCE, owed
from ledger.commands import messages as m
from ledger.double_entry import Journal
from ledger.errors import LedgerError
from ledger.money import format_amount
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.journal import trial_balance
from ledger.projections.keeper import ProjectionKeeper
from replay.verify import verify
from tests.ledger_fixtures import make_ledger

ACCOUNTS = ("ACC1", "ACC2")
near_the_limit = st.one_of(st.integers(MAX_AMOUNT - 1000, MAX_AMOUNT + 1000), st.integers(1, 10**6),
                           st.integers(MAX_AMOUNT // 3, MAX_AMOUNT))
steps = st.lists(st.tuples(st.sampled_from(["invoice", "credit", "deposit", "distribute", "order", "adjust"]),
                           st.sampled_from(ACCOUNTS), near_the_limit, st.integers(1, 300)),
                 min_size=1, max_size=20)


def command(kind: str, account: str, amount: int, n: int) -> m.Command:
    text = format_amount(amount, "USD")
    if kind == "invoice":
        return m.IssueInvoice(account=account, invoice=f"I{n}", amount=text, date="2026-09-01", due="2026-09-30")
    if kind == "credit":
        return m.IssueCredit(account=account, credit=f"C{n}", amount=text)
    if kind == "order":
        return m.PlaceOrder(account=account, order=f"O{n}", amount=text)
    if kind == "adjust":
        return m.AdjustInvoice(account=account, invoice=f"I{n % 5}", amount=text)
    return m.SubmitPayment(account=account, payment=f"P{n}", amount=text, method="card", token="tok_visa",
                           deposit=kind == "deposit", distribute=kind == "distribute")


@settings(max_examples=6, deadline=None)
@given(steps)
def test_histories_near_the_limits_keep_every_read_model_and_verify_healthy(
        history: list[tuple[str, str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        ledger = make_ledger(home)
        for account in ACCOUNTS:
            ledger.service.handle(m.OpenAccount(account=account, email="a@example.com"))
        for n in range(MAX_BALANCE // MAX_AMOUNT - 1):  # ACC2 owes and holds just under the limits
            ledger.service.handle(command("invoice", "ACC2", MAX_AMOUNT, 1000 + n))
            ledger.service.handle(command("credit", "ACC2", MAX_AMOUNT, 1000 + n))
        for n, (kind, account, amount, pick) in enumerate(history):
            try:
                ledger.service.handle(command(kind, account, amount, pick * 100 + n))
            except LedgerError as refused:
                assert refused.code and refused.field
                event(refused.code)
        keeper = ProjectionKeeper(ledger.store, home)
        keeper.catch_up()
        assert all(status.lag == 0 for status in keeper.status())
        journal = Journal()
        for position, recorded in keeper.events.read(0, 100_000):
            journal.post(recorded, str(position))
        assert trial_balance(keeper.connection("journal")) == journal.trial_balances()
        for account in ACCOUNTS:
            state = ledger.store.account(account_uuid(account)).state
            assert owed(state) <= MAX_BALANCE and state.credit_balance <= MAX_BALANCE
            header = queries.balance(keeper.connection("accounts"), account, date(2026, 9, 10))
            assert header["balance"] == format_amount(state.balance, "USD")
            assert header["credit_balance"] == format_amount(state.credit_balance, "USD")
        result = verify(ledger.store, keeper)
        assert result.ok, result.findings
        keeper.close()
        ledger.close()
