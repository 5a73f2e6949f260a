"""As-of replays equal the history cut at that instant: balances, credit and the trial balance (finance)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import msgspec
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.aggregates import Account
from ledger.double_entry import Journal
from ledger.money import format_amount
from ledger.projections.runner import ListLog
from replay.asof import balances_as_of
from replay.history import events
from tests.property.histories import History
from tests.property.test_projection_replay import play, step


@given(st.lists(step, max_size=20), st.integers(0, 400))
def test_as_of_balances_equal_the_history_cut_at_that_instant(steps: list[tuple[object, ...]], minutes: int) -> None:
    h = History()
    play(h, steps)
    cut = h.events[0].timestamp + timedelta(minutes=minutes)
    before = [e for e in h.events if e.timestamp < cut]  # half-open: an event at the instant is after it
    replayed = balances_as_of(ListLog(h.events), cut)
    if not before:  # as of the instant the account was opened: not yet open
        assert replayed.accounts == [] and replayed.position == 0
        return
    state = Account.projector(None, before).state
    assert [(a.account, a.balance, a.credit_balance, a.open_invoices) for a in replayed.accounts] == [
        ("ACC1", format_amount(state.balance, "USD"), format_amount(state.credit_balance, "USD"),
         len(state.open_invoices()))]
    assert replayed.position == len(before) and replayed.balanced
    journal = Journal()
    journal.post_all(before)
    zero = ("0.00", "0.00")
    got = {line.ledger_account: (line.debit, line.credit) for line in replayed.trial_balance}
    expected = {name: (format_amount(max(b, 0), "USD"), format_amount(max(-b, 0), "USD"))
                for name, b in journal.trial_balance("USD").items()}
    assert {k: v for k, v in got.items() if v != zero} == {k: v for k, v in expected.items() if v != zero}


@given(st.lists(step, min_size=1, max_size=12), st.integers(1, 30))
def test_a_backdated_event_cuts_its_aggregate_history_there(steps: list[tuple[object, ...]], back: int) -> None:
    h = History()
    play(h, steps)
    assume(len(h.events) >= 3)
    late = h.events[-1]
    cut = h.events[0].timestamp + timedelta(minutes=back)
    backdated = msgspec.structs.replace(late, timestamp=cut - timedelta(seconds=1))  # recorded last, dated
    # before the cut (a store written before such commands were refused)
    history = [*h.events[:-1], backdated]
    kept = [e for _, e in events(ListLog(history), until=cut)]
    prefix = list(itertools.takewhile(lambda e: e.timestamp < cut, history))
    assert kept == prefix
    if any(e.timestamp >= cut for e in h.events[:-1]):
        assert backdated not in kept  # it follows an event after the cut: replaying it would skip history
