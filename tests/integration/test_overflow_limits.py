"""Issue 15: sums in the read models and replays are exact whatever the log holds.

An older ledger accepted every invoice up to 9999999999999.99; 9,300 of them on 100 accounts pass 2**63 minor
units, which wedged the ``journal`` read model (SQLite's ``sum`` overflowed on every batch after), the balance
header and ``audit verify`` for ever. The events are written here as that older ledger wrote them (straight
into the log, past today's limits), and every read model, the replays and ``audit verify`` must stay healthy
and exact.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.double_entry import Journal
from ledger.money import format_amount
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.journal import trial_balance
from ledger.projections.keeper import ProjectionKeeper
from replay.asof import balances_as_of
from replay.verify import verify
from tests.ledger_fixtures import START, make_ledger

#: The largest amount an older ledger took in one command (9999999999999.99).
OLD_MAXIMUM = 999_999_999_999_999


def write_as_an_older_ledger(ledger: Ledger, account_id: str, amounts: list[int], credits: int = 0) -> None:
    """Open ``account_id`` and record invoices of ``amounts`` (and ``credits`` credit memos of each amount)
    without today's limits: they are in the log, and a replay must take them."""
    ledger.service.handle(m.OpenAccount(account=account_id, email="big@example.com"))
    account = ledger.store.account(account_uuid(account_id))
    ctx = ev.Context(at=START)
    for n, amount in enumerate(amounts):
        account.trigger(ctx, ev.InvoiceIssued, invoice_id=f"I{n}", total=amount, issued_on=date(2026, 9, 1),
                        due_on=date(2026, 9, 2))
        if n < credits:
            account.trigger(ctx, ev.CreditIssued, credit_id=f"C{n}", amount=amount, kind="memo", reference="")
    ledger.store.save(account)


def replayed_journal(keeper: ProjectionKeeper) -> Journal:
    """The journal of the whole log, folded in Python."""
    journal = Journal()
    for position, event in keeper.events.read(0, 1_000_000):
        journal.post(event, str(position))
    return journal


def assert_healthy(ledger: Ledger, keeper: ProjectionKeeper) -> None:
    """Every projection at the head, the journal's trial balance exactly the replay's, ``audit verify`` clean."""
    keeper.catch_up()
    assert all(status.lag == 0 for status in keeper.status())
    assert trial_balance(keeper.connection("journal")) == replayed_journal(keeper).trial_balances()
    assert balances_as_of(ledger.store, START + timedelta(days=1)).balanced
    result = verify(ledger.store, keeper)
    assert result.ok, result.findings


def test_invoices_of_the_old_maximum_past_two_to_the_63_keep_the_journal_live(tmp_path: Path) -> None:
    """The issue's scenario: 100 accounts, 93 invoices of 9999999999999.99 each, caught up in two runs (the
    second reads the journal's sums back from its file, which is where it failed on every batch)."""
    ledger = make_ledger(tmp_path)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    for n in range(100):
        write_as_an_older_ledger(ledger, f"A{n}", [OLD_MAXIMUM] * 93)
        if n == 50:
            keeper.catch_up()
            keeper.close()
            keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert_healthy(ledger, keeper)
    total = 100 * 93 * OLD_MAXIMUM
    assert total > 2**63 and trial_balance(keeper.connection("journal"))["USD"]["revenue"] == -total
    keeper.close()
    ledger.close()


def test_one_account_owing_more_than_two_to_the_63_reads_exactly(tmp_path: Path) -> None:
    """A balance, a credit balance and an overdue amount past 2**63 (events of any size a log may hold) read
    exactly in the portal header and the as-of replay."""
    ledger = make_ledger(tmp_path)
    amounts = [2**62 - 1, 2**62 + 7, 2**61, 3]
    write_as_an_older_ledger(ledger, "BIG", amounts, credits=3)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert_healthy(ledger, keeper)
    header = queries.balance(keeper.connection("accounts"), "BIG", date(2026, 9, 10))
    owed, credit = sum(amounts), sum(amounts[:3])
    assert owed > 2**63 and credit > 2**63
    assert (header["balance"], header["credit_balance"], header["overdue"]) == (
        format_amount(owed, "USD"), format_amount(credit, "USD"), format_amount(owed, "USD"))
    replayed = balances_as_of(ledger.store, START + timedelta(days=1))
    assert [(a.account, a.balance, a.credit_balance) for a in replayed.accounts] == [
        ("BIG", format_amount(owed, "USD"), format_amount(credit, "USD"))]
    keeper.close()
    ledger.close()
