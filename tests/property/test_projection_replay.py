"""Invariant 7: rebuilding every projection from the log gives exactly what the live projections hold.

Live: events are applied as they are recorded, a few at a time (with a row cache that may forget everything
after each batch). Rebuilt: from position 0 in one go. Both are compared table by table, the accounts read
model is checked against the aggregate itself, and the journal is balanced at every prefix.
"""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.projections import fresh
from ledger.projections.rows import Table
from ledger.projections.runner import ListLog, catch_up, connect, dump
from ledger.projections.sums import joined
from tests.property.histories import History

step = st.one_of(
    st.tuples(st.just("invoice"), st.integers(1, 50_000), st.integers(0, 60)),
    st.tuples(st.just("pay"), st.integers(1, 50_000), st.sampled_from(["card", "ach", "paypal"]),
              st.sampled_from(["explicit", "distribute", "deposit"]), st.booleans()),
    st.tuples(st.just("ach"), st.booleans()),
    st.tuples(st.just("credit"), st.integers(1, 20_000)),
    st.tuples(st.just("void"), st.integers(0, 30)),
    st.tuples(st.just("order"), st.integers(1, 50_000), st.booleans()),
)


def play(h: History, steps: list[tuple[object, ...]]) -> None:
    for s in steps:
        kind = s[0]
        if kind == "invoice":
            h.issue_invoice(int(s[1]), int(s[2]))  # type: ignore[call-overload]
        elif kind == "pay":
            h.pay(int(s[1]), str(s[2]), str(s[3]), pick=int(s[1]),  # type: ignore[call-overload]
                  status="declined" if s[4] and s[2] != "ach" else None)
        elif kind == "ach":
            pending = h.payments("ach", "pending") + h.payments("ach", "settled")
            if pending:
                h.attempt("settle_payment" if s[1] else "return_payment", payment=pending[0])
        elif kind == "credit":
            h.attempt("issue_credit", credit=h.next_id("CM"), amount=int(s[1]), reference="memo")  # type: ignore[call-overload]
        elif kind == "void":
            invoices = sorted(h.account.state.invoices)
            if invoices:
                h.attempt("void_invoice", invoice=invoices[int(s[1]) % len(invoices)])  # type: ignore[call-overload]
        else:
            order = h.next_id("O")
            if h.attempt("place_order", order=order, amount=int(s[1])):  # type: ignore[call-overload]
                h.attempt("authorize_card", authorization=h.next_id("A"), order=order, amount=int(s[1]),  # type: ignore[call-overload]
                          token="tok_visa", transaction_id="t")
                if s[2]:
                    h.attempt("cancel_order", order=order)


def assert_journal_balanced(db: sqlite3.Connection, events: list[ev.Event]) -> None:
    """Debits equal credits, receivables equal open invoices and credits equal open credits, at this prefix."""
    state = Account.projector(None, events).state
    tb = {r["ledger_account"]: int(r["balance"]) for r in db.execute("select * from trial_balance")}
    assert sum(tb.values()) == 0
    assert tb.get("receivables", 0) == state.balance
    assert -tb.get("customer_credits", 0) == state.credit_balance


@given(st.lists(step, max_size=25), st.integers(1, 7), st.booleans())
def test_live_projections_equal_a_rebuild(steps: list[tuple[object, ...]], chunk: int, forgetful: bool) -> None:
    h = History()
    play(h, steps)
    live = [(p, connect(":memory:")) for p in fresh()]
    journal = dict((p.name, db) for p, db in live)["journal"]
    keep = Table.keep
    Table.keep = 0 if forgetful else keep  # a forgetful cache reloads every row it changes from the file
    try:
        for end in range(chunk, len(h.events) + chunk, chunk):  # live: a few events at a time, as they arrive
            catch_up(live, ListLog(h.events[:end]), batch=chunk)
            assert_journal_balanced(journal, h.events[:end])
    finally:
        Table.keep = keep
    rebuilt = [(p, connect(":memory:")) for p in fresh()]
    catch_up(rebuilt, ListLog(h.events), batch=10_000)
    for (projection, a), (_, b) in zip(live, rebuilt, strict=True):
        assert dump(a, projection) == dump(b, projection), projection.name
    accounts_db = dict((p.name, db) for p, db in rebuilt)["accounts"]
    row = accounts_db.execute("select * from balances").fetchone()
    assert (joined(row, "balance"), joined(row, "credit_balance")) == (h.account.state.balance,
                                                                        h.account.state.credit_balance)
    state = h.account.state
    invoices = {r["id"]: (r["open"], r["status"]) for r in accounts_db.execute("select * from invoice_tab")}
    assert invoices == {i.id: (i.open, i.status) for i in state.invoices.values()}
    credits = {r["id"]: (r["amount"], r["remaining"]) for r in accounts_db.execute("select * from credits")}
    assert credits == {c.id: (c.amount, c.remaining) for c in state.credits.values()}
    orders = {r["id"]: (r["paid"], r["status"]) for r in accounts_db.execute("select * from orders")}
    assert orders == {o.id: (o.paid, o.status) for o in state.orders.values()}
    payments = {r["id"]: r["status"] for r in accounts_db.execute("select * from payments")}
    assert payments == {p.id: p.status for p in state.payments.values()}
    auths = {r["id"]: r["status"] for r in accounts_db.execute("select * from authorizations")}
    assert auths == {a.id: a.status for a in state.authorizations.values()}
    assert_journal_balanced(dict((p.name, db) for p, db in rebuilt)["journal"], h.events)
