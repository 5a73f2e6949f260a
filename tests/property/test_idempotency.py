"""Invariant 6: the same command with the same idempotency key twice has the effect of once.

Random command sequences run through the real service on a real SQLite file; a second ledger receives every
command twice in a row (a redelivery), and every command that succeeded once more at the very end (a late
duplicate). Both ledgers must show the same account and hold the same number of events.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.views import stored_account_view
from tests.ledger_fixtures import LedgerCopies

money = st.integers(1, 40_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
ids = st.sampled_from(["X1", "X2", "X3", "X4"])


def commands() -> st.SearchStrategy[Any]:
    invoice = st.builds(lambda i, a, d: m.IssueInvoice(account="ACC1", invoice=f"I{i}", amount=a,
                                                       date=f"2026-09-{d:02d}", due="2026-10-30"),
                        st.integers(1, 5), money, st.integers(1, 28))
    pay = st.builds(lambda p, a, meth, mode, key: m.SubmitPayment(
        account="ACC1", payment=p, amount=a, method=meth, token="tok_ach" if meth == "ach" else "tok_visa",
        distribute=mode == "distribute", deposit=mode == "deposit", key=key),
        ids, money, st.sampled_from(["card", "ach", "paypal"]), st.sampled_from(["distribute", "deposit"]),
        st.none() | st.sampled_from(["k1", "k2"]))
    settle = st.builds(lambda p: m.SettlePayment(account="ACC1", payment=p), ids)
    ret = st.builds(lambda p: m.ReturnPayment(account="ACC1", payment=p), ids)
    refund = st.builds(lambda p, a: m.RefundPayment(account="ACC1", payment=p, amount=a), ids, money)
    credit = st.builds(lambda c, a: m.IssueCredit(account="ACC1", credit=c, amount=a, reference="r"), ids, money)
    void = st.builds(lambda i: m.VoidInvoice(account="ACC1", invoice=f"I{i}"), st.integers(1, 5))
    return st.one_of(invoice, invoice, pay, pay, settle, ret, refund, credit, void)


def open_account(ledger: Any) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> LedgerCopies:
    """A fresh ledger per run with ACC1 open, each a copy of one set up once (opening it was most of a run)."""
    return LedgerCopies(tmp_path_factory.mktemp("idempotency") / "template", open_account)


def run(ledgers: LedgerCopies, commands_: list[Any], folder: Path, repeat: bool) -> tuple[Any, int]:
    ledger = ledgers.new(folder)
    try:
        succeeded = []
        for command in commands_:
            for attempt in range(2 if repeat else 1):
                try:
                    ledger.service.handle(command)
                except LedgerError:
                    continue
                if attempt == 0:
                    succeeded.append(command)
        if repeat:
            for command in succeeded:
                outcome = ledger.service.handle(command)
                assert outcome.replayed, (command, outcome)
        view = stored_account_view(ledger.store, "ACC1")  # sealed values revealed: each seal has its own nonce
        return view, ledger.store.recorder.max_notification_id() or 0
    finally:
        ledger.close()


@settings(deadline=None)
@given(st.lists(commands(), max_size=14))
def test_repeated_commands_have_the_effect_of_once(ledgers: LedgerCopies, sequence: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as once, tempfile.TemporaryDirectory() as twice:
        assert run(ledgers, sequence, Path(once), repeat=False) == run(ledgers, sequence, Path(twice), repeat=True)
