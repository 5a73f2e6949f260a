"""Invariant 5: a returned ACH payment leaves balances exactly as if it had never been made.

Random history H1, then an ACH payment P (explicit, distributed or deposit) that is returned while pending, or
after it settled and a random history M (invoices, card payments, memo credits) was recorded, then a random
history H2. Balances, open amount per invoice and remaining per credit must equal those of H1 + M + H2 without
P. Only the audit trail differs.
"""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.events.payments import Instruction, Line
from ledger.invariants import violations
from tests.property.histories import History

step = st.one_of(
    st.tuples(st.just("invoice"), st.integers(1, 50_000), st.integers(0, 60)),
    st.tuples(st.just("card"), st.integers(1, 50_000), st.sampled_from(["explicit", "distribute", "deposit"])),
    st.tuples(st.just("credit"), st.integers(1, 20_000), st.just(0)),
)

#: Between the payment's settlement and its return: an explicit payment names an invoice among those open, which
#: differ with and without the payment, so the same step would be another command in each history.
later_step = st.one_of(
    st.tuples(st.just("invoice"), st.integers(1, 50_000), st.integers(0, 60)),
    st.tuples(st.just("card"), st.integers(1, 50_000), st.sampled_from(["distribute", "deposit"])),
    st.tuples(st.just("credit"), st.integers(1, 20_000), st.just(0)),
)


def run(h: History, steps: list[tuple[str, int, object]]) -> None:
    for kind, amount, extra in steps:
        if kind == "invoice":
            h.issue_invoice(amount, int(extra))  # type: ignore[call-overload]
        elif kind == "card":
            h.pay(amount, "card", str(extra), pick=amount)
        else:
            h.attempt("issue_credit", credit=h.next_id("CM"), amount=amount, reference="memo")


@given(before=st.lists(step, max_size=12), middle=st.lists(later_step, max_size=8), after=st.lists(step, max_size=12),
       amount=st.integers(1, 80_000), mode=st.sampled_from(["explicit", "distribute", "deposit"]),
       settle_first=st.booleans(), pick=st.integers(0, 20))
def test_returned_ach_is_as_if_never_made(before: list[tuple[str, int, object]],
                                          middle: list[tuple[str, int, object]],
                                          after: list[tuple[str, int, object]], amount: int, mode: str,
                                          settle_first: bool, pick: int) -> None:
    with_return, without = History(), History()
    run(with_return, before)
    run(without, before)
    payment = with_return.pay(amount, "ach", mode, pick)
    without.counter = with_return.counter  # the same ids for what follows
    if payment is not None and settle_first:
        assert with_return.attempt("settle_payment", payment=payment)
        run(with_return, middle)
        run(without, middle)
        without.counter = with_return.counter
    if payment is not None:
        assert with_return.attempt("return_payment", payment=payment, history=list(with_return.events))
    run(with_return, after)
    run(without, after)
    assert with_return.balances() == without.balances()
    assert not violations(with_return.events)


def settled_ach(with_return: History, without: History, amount: int) -> str:
    """An ACH payment distributed and settled in ``with_return`` only; ``without`` keeps the same ids after."""
    payment = with_return.pay(amount, "ach", "distribute", 0)
    assert payment is not None and with_return.attempt("settle_payment", payment=payment)
    without.counter = with_return.counter
    return payment


def returned(h: History, payment: str) -> None:
    assert h.attempt("return_payment", payment=payment, history=list(h.events))


def test_a_return_after_later_payments_is_as_if_never_made() -> None:
    """Seeds reviewer's case: the ACH payment is returned after a later card payment was distributed. Without
    the ACH payment, the card payment would have gone to the older invoice and spent the memo credit."""
    with_return, without = History(), History()
    for h in (with_return, without):
        h.issue_invoice(10_000, 0)
        h.attempt("issue_credit", credit=h.next_id("CM"), amount=2_000, reference="memo")
    payment = settled_ach(with_return, without, 8_000)
    for h in (with_return, without):
        h.issue_invoice(10_000, 34)
        h.pay(5_000, "card", "distribute", 0)
    returned(with_return, payment)
    assert with_return.balances() == without.balances()
    assert not violations(with_return.events)


def test_a_second_return_leaves_the_account_as_if_neither_payment_was_made() -> None:
    """Two ACH payments settle, a card payment follows, both come back (review: the second return fell back to
    the plain unwind, the first one's re-allocation being in the way)."""
    with_return, without = History(), History()
    for h in (with_return, without):
        h.issue_invoice(10_000, 0)
        h.issue_invoice(10_000, 5)
    first = with_return.pay(3_000, "ach", "distribute", 0)
    assert first is not None and with_return.attempt("settle_payment", payment=first)
    second = with_return.pay(3_000, "ach", "distribute", 0)
    assert second is not None and with_return.attempt("settle_payment", payment=second)
    without.counter = with_return.counter
    for h in (with_return, without):
        h.pay(8_000, "card", "distribute", 0)
    for payment in (first, second):
        assert with_return.attempt("return_payment", payment=payment, history=list(with_return.events))
        assert with_return.answer == "reallocated"
    assert with_return.balances() == without.balances()
    assert not violations(with_return.events)


def test_a_history_that_is_not_the_accounts_is_not_replayed() -> None:
    h = History()
    h.issue_invoice(10_000, 0)
    payment = h.pay(5_000, "ach", "distribute", 0)
    assert payment is not None and h.attempt("settle_payment", payment=payment)
    stale = list(h.events)[:-1]  # read before the account's newest event
    assert h.attempt("return_payment", payment=payment, history=stale)
    assert h.answer == "history_not_current"


def test_when_only_the_history_without_the_payment_has_a_credit_the_return_unwinds_and_says_so() -> None:
    """Review: guest payments on an order after the payment's settlement; without it, a later one would have
    overpaid into a credit the account does not have. Opened now, that credit would be spent after older ones,
    so the return unwinds the payment alone and reports why (the handler logs it for a CSR)."""
    h = History()
    assert h.attempt("issue_credit", credit="M", amount=1, reference="memo")
    assert h.attempt("place_order", order="O", amount=2)
    h.issue_invoice(2, 0)
    invoice = next(iter(h.account.state.invoices))
    ach = h.pay(1, "ach", "explicit", 0)
    assert ach is not None and h.attempt("settle_payment", payment=ach)
    for payment, amount in (("Q", 1), ("R", 2)):
        assert h.attempt("record_payment", payment=payment, amount=amount, method="card", token="t",
                         transaction_id=f"txn_{payment}", status="approved", decline_code=None,
                         idempotency_key=f"k-{payment}", request_hash="h",
                         instruction=Instruction("explicit", (Line("order", "O", amount),)))
    assert h.attempt("return_payment", payment=ach, history=list(h.events))
    assert h.answer == "credit_would_be_opened"
    assert h.account.state.invoices[invoice].open == 2 and not violations(h.events)


def test_a_return_long_ago_does_not_stop_a_later_return_from_reallocating() -> None:
    """Review: an ACH payment returned before the next one settled, then a void, must replay as recorded."""
    with_return, without = History(), History()
    for h in (with_return, without):
        h.issue_invoice(10_000, 0)
    returned(with_return, settled_ach(with_return, without, 3_000))
    without.counter = with_return.counter
    for h in (with_return, without):
        h.issue_invoice(500, 1)
        assert h.attempt("void_invoice", invoice=f"INV-{h.counter}", reason="issued in error")
    payment = settled_ach(with_return, without, 3_000)
    for h in (with_return, without):
        h.issue_invoice(10_000, 40)
        h.pay(8_000, "card", "distribute", 0)
    returned(with_return, payment)
    assert with_return.answer == "reallocated"
    assert with_return.balances() == without.balances() and not violations(with_return.events)


def test_invoicing_an_order_after_a_return_gives_back_the_same_credits_as_without_the_payment() -> None:
    """Review: the return re-applies credits to an order after what was already on it; releasing the order into
    its invoice must not depend on that order (which credit gets money back)."""
    with_return, without = History(), History()
    for h in (with_return, without):
        h.attempt("issue_credit", credit="CM1", amount=1, reference="memo")
        h.attempt("issue_credit", credit="CM2", amount=248, reference="memo")
        h.issue_invoice(277, 60)
    payment = with_return.pay(30, "ach", "distribute", 0)
    assert payment is not None and with_return.attempt("settle_payment", payment=payment)
    for h in (with_return, without):
        assert h.attempt("place_order", order="O", amount=91)
        assert h.attempt("record_payment", payment="C", amount=82, method="card", token="t",
                         transaction_id="txn_C", status="approved", decline_code=None, idempotency_key="k-C",
                         request_hash="h", instruction=Instruction("explicit", (Line("order", "O", 82),)))
    assert with_return.attempt("return_payment", payment=payment, history=list(with_return.events))
    assert with_return.answer == "reallocated"
    for h in (with_return, without):
        assert h.attempt("issue_invoice", invoice="INV-O", total=89, issued_on=date(2026, 10, 1),
                         due_on=date(2026, 10, 31), order="O")
    assert with_return.balances() == without.balances() and not violations(with_return.events)
