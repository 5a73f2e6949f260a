"""Issue 14: what is due on an invoice or an order counts pending ACH payments, open credits and live holds.

Seed 003: "pay the exact amount due"; ACH stays pending until it settles. Seed 001: credits join any payment.
Seed 004: a hold never covers more than the order's balance due.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.errors import Conflict, PolicyViolation, ValidationError
from tests.unit.test_account_payments import CTX, account_with_invoices, pay


def exact(*lines: tuple[str, str, int]) -> Instruction:
    return Instruction("explicit", tuple(Line(kind, target, amount) for kind, target, amount in lines), exact=True)  # type: ignore[arg-type]


def test_exact_amount_counts_a_pending_ach_and_a_covered_invoice_is_refused_naming_it() -> None:
    account = account_with_invoices(2500)
    pay(account, "ACH1", 2500, exact(("invoice", "INV-1", 2500)), method="ach", status="pending")
    with pytest.raises(Conflict) as refused:
        account.check_payment(payment="P2", amount=2500, instruction=exact(("invoice", "INV-1", 2500)))
    assert (refused.value.code, refused.value.field) == ("pending_payment", "invoices.INV-1")
    assert "ACH1" in str(refused.value)
    with pytest.raises(Conflict):  # not only with --exact: the invoice is covered
        account.check_payment(payment="P2", amount=1000,
                              instruction=Instruction("explicit", (Line("invoice", "INV-1", 1000),)))


def test_exact_amount_of_a_partly_covered_invoice_is_what_the_pending_ach_leaves() -> None:
    account = account_with_invoices(7500)
    pay(account, "ACH1", 5000, Instruction("explicit", (Line("invoice", "INV-1", 5000),)), method="ach",
        status="pending")
    with pytest.raises(PolicyViolation) as refused:
        account.check_payment(payment="P2", amount=7500, instruction=exact(("invoice", "INV-1", 7500)))
    assert refused.value.code == "exact_amount_required"
    account.check_payment(payment="P2", amount=2500, instruction=exact(("invoice", "INV-1", 2500)))
    with pytest.raises(PolicyViolation):
        account.check_payment(payment="P2", amount=7500, instruction=Instruction("distribute", exact=True))
    account.check_payment(payment="P2", amount=2500, instruction=Instruction("distribute", exact=True))


def test_exact_amount_net_of_credit_is_accepted_on_both_paths() -> None:
    account = account_with_invoices(7500)
    account.issue_credit(CTX, credit="CM1", amount=3000, reference="goodwill")
    account.collect_events()
    for instruction in (exact(("invoice", "INV-1", 4500)), Instruction("distribute", exact=True)):
        account.check_payment(payment="P1", amount=4500, instruction=instruction)
    account.check_payment(payment="P1", amount=7500, instruction=exact(("invoice", "INV-1", 7500)))
    with pytest.raises(PolicyViolation) as refused:
        account.check_payment(payment="P1", amount=5000, instruction=exact(("invoice", "INV-1", 5000)))
    assert refused.value.code == "exact_amount_required"
    pay(account, "P1", 4500, exact(("invoice", "INV-1", 4500)))
    assert account.state.invoices["INV-1"].status == "paid" and account.state.credit_balance == 0


def test_paying_an_order_with_nothing_due_is_refused_like_a_paid_invoice() -> None:
    account = account_with_invoices()
    account.place_order(CTX, order="O1", amount=5000)
    pay(account, "P1", 5000, Instruction("explicit", (Line("order", "O1", 5000),)))
    with pytest.raises(Conflict) as refused:
        account.check_payment(payment="P2", amount=1000,
                              instruction=Instruction("explicit", (Line("order", "O1", 1000),)))
    assert (refused.value.code, refused.value.field) == ("order_paid", "orders.O1")


def test_live_holds_count_against_the_balance_due_of_an_order() -> None:
    account = account_with_invoices()
    account.place_order(CTX, order="O1", amount=5000)
    account.authorize_card(CTX, authorization="A1", order="O1", amount=5000, token="tok_visa",
                           transaction_id="t1")
    with pytest.raises(PolicyViolation) as refused:
        account.authorize_card(CTX, authorization="A2", order="O1", amount=1000, token="tok_visa",
                               transaction_id="t2")
    assert (refused.value.code, refused.value.field) == ("exceeds_amount_due", "amount")
    later = CTX.__class__(at=CTX.at + timedelta(days=30), by=CTX.by)
    account.authorize_card(later, authorization="A2", order="O1", amount=5000, token="tok_visa",
                           transaction_id="t2")  # A1 has expired: it holds nothing any more
    assert isinstance(account, Account)


def test_a_pending_distribution_records_what_it_will_pay_skipping_what_other_pending_payments_cover() -> None:
    account = account_with_invoices(2500, 4000)
    pay(account, "ACH0", 1000, Instruction("explicit", (Line("invoice", "INV-1", 1000),)), method="ach",
        status="pending")
    submitted = pay(account, "ACH1", 3000, Instruction("distribute"), method="ach", status="pending")[0]
    assert isinstance(submitted, ev.PaymentSubmitted)
    assert submitted.planned == (Line("invoice", "INV-1", 1500), Line("invoice", "INV-2", 1500))
    with pytest.raises(Conflict) as refused:
        account.check_payment(payment="P2", amount=1500, instruction=exact(("invoice", "INV-1", 1500)))
    assert refused.value.code == "pending_payment" and "ACH0, ACH1" in str(refused.value)


def test_a_pending_distribution_recorded_before_plans_covers_the_oldest_invoices_on_every_path() -> None:
    """PaymentSubmitted 2 recorded no plan (``planned`` None): such a pending distribution covers the oldest invoices
    the other pending payments leave due, as its settlement will pay them; --exact on lines, --exact on the balance
    and the refusals all read it so (review finding 12)."""
    account = account_with_invoices(1000, 2000)
    pay(account, "ACH1", 1500, Instruction("distribute"), method="ach", status="pending")
    account.state.payments["ACH1"].planned = None  # as PaymentSubmitted 2 left it
    assert account.state.pending_on("invoice", "INV-1") == [("ACH1", 1000)]
    assert account.state.pending_on("invoice", "INV-2") == [("ACH1", 500)]
    with pytest.raises(Conflict) as refused:
        account.check_payment(payment="P2", amount=1000, instruction=exact(("invoice", "INV-1", 1000)))
    assert refused.value.code == "pending_payment" and "ACH1" in str(refused.value)
    with pytest.raises(PolicyViolation):
        account.check_payment(payment="P2", amount=2000, instruction=exact(("invoice", "INV-2", 2000)))
    account.check_payment(payment="P2", amount=1500, instruction=exact(("invoice", "INV-2", 1500)))
    with pytest.raises(PolicyViolation):
        account.check_payment(payment="P2", amount=3000, instruction=Instruction("distribute", exact=True))
    account.check_payment(payment="P2", amount=1500, instruction=Instruction("distribute", exact=True))
    account.settle_payment(CTX, payment="ACH1")
    assert (account.state.invoices["INV-1"].open, account.state.invoices["INV-2"].open) == (0, 1500)


def test_a_pending_distribution_that_found_nothing_due_covers_nothing_on_every_path() -> None:
    """A version 3 distribution left pending when nothing was due plans nothing (``planned == ()``): it is not one
    recorded before plans, so it covers no invoice issued later (review finding 9)."""
    account = account_with_invoices()
    pay(account, "ACH1", 5000, Instruction("distribute"), method="ach", status="pending")
    assert account.state.payments["ACH1"].planned == ()
    account.issue_invoice(CTX, invoice="INV-9", total=5000, issued_on=date(2026, 8, 1), due_on=date(2026, 9, 1))
    assert account.state.pending_on("invoice", "INV-9") == []
    account.check_payment(payment="P2", amount=5000, instruction=exact(("invoice", "INV-9", 5000)))
    account.check_payment(payment="P3", amount=5000, instruction=Instruction("distribute", exact=True))


def test_a_pending_distribution_pays_what_it_planned_when_it_settles() -> None:
    account = account_with_invoices(1000, 2000)
    pay(account, "ACH0", 1000, Instruction("explicit", (Line("invoice", "INV-1", 1000),)), method="ach",
        status="pending")
    pay(account, "ACH1", 2000, Instruction("distribute"), method="ach", status="pending")  # plans INV-2
    account.return_payment(CTX, payment="ACH0")
    account.settle_payment(CTX, payment="ACH1")
    applied = [(e.target_id, e.amount) for e in account.collect_events() if isinstance(e, ev.PaymentApplied)]
    assert applied == [("INV-2", 2000)]


def test_refusals_state_amounts_as_decimals_with_their_currency() -> None:
    account = account_with_invoices(7500)
    account.issue_credit(CTX, credit="CM1", amount=5500, reference="goodwill")
    account.collect_events()
    with pytest.raises(PolicyViolation) as refused:
        account.check_payment(payment="P1", amount=5000, instruction=exact(("invoice", "INV-1", 5000)))
    assert str(refused.value) == "pay exactly the amount due on INV-1 (75.00 USD, or 20.00 USD after open credits)"
    with pytest.raises(PolicyViolation) as refused:
        account.check_payment(payment="P1", amount=5000, instruction=Instruction("distribute", exact=True))
    assert str(refused.value) == "pay exactly the balance due (75.00 USD, or 20.00 USD after open credits)"
    account.place_order(CTX, order="O1", amount=5000)
    pay(account, "ACH1", 1000, Instruction("explicit", (Line("order", "O1", 1000),)), method="ach", status="pending")
    account.authorize_card(CTX, authorization="A1", order="O1", amount=2000, token="tok_visa", transaction_id="t1")
    with pytest.raises(PolicyViolation) as refused:
        account.authorize_card(CTX, authorization="A2", order="O1", amount=3000, token="tok_visa",
                               transaction_id="t2")
    assert str(refused.value) == ("more than the balance due on order O1 beyond its live holds (20.00 USD) and "
                                  "pending payments (10.00 USD)")
    with pytest.raises(ValidationError) as too_large:
        account.issue_credit(CTX, credit="CM2", amount=10**13 + 1, reference="typo")
    assert str(too_large.value) == "an amount may be at most 100000000000.00 USD"
