"""Seed rules about payments and their application (seeds 000, 001, 003)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.errors import Conflict, NotFound, PolicyViolation, ValidationError

CTX = ev.Context(at=datetime(2026, 9, 1, 14, tzinfo=UTC), by=ev.Actor("customer", "web", "portal"))


def account_with_invoices(*totals: int) -> Account:
    account = Account.open(CTX, aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="a@example.com")
    for n, total in enumerate(totals, start=1):
        account.issue_invoice(CTX, invoice=f"INV-{n}", total=total, issued_on=date(2026, 8, n),
                              due_on=date(2026, 9, n))
    account.collect_events()
    return account


def pay(account: Account, payment_id: str, amount: int, instruction: Instruction, method: str = "card",
        status: str = "approved") -> list[ev.Event]:
    account.record_payment(CTX, payment=payment_id, amount=amount, method=method, token="tok_visa",  # type: ignore[arg-type]
                           transaction_id=f"txn_{payment_id}", status=status,
                           decline_code="card_declined" if status == "declined" else None,
                           idempotency_key=payment_id, request_hash="h", instruction=instruction)
    return account.collect_events()


def names(events: list[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_distribute_applies_oldest_invoice_first_and_overpayment_becomes_credit() -> None:
    account = account_with_invoices(10000, 2000)
    events = pay(account, "P1", 15000, Instruction("distribute"))
    assert names(events) == ["PaymentSubmitted", "PaymentSettled", "PaymentApplied", "PaymentApplied",
                             "CreditIssued"]
    assert [(e.target_id, e.amount) for e in events if isinstance(e, ev.PaymentApplied)] == [("INV-1", 10000),
                                                                                          ("INV-2", 2000)]
    assert account.state.balance == 0
    assert account.state.credits["P1-CR"].remaining == 3000
    assert account.state.credits["P1-CR"].kind == "overpayment"


def test_partial_distribution_leaves_the_newer_invoice_open() -> None:
    account = account_with_invoices(10000, 2000)
    pay(account, "P1", 10500, Instruction("distribute"))
    assert account.state.invoices["INV-1"].status == "paid"
    assert account.state.invoices["INV-2"].status == "partially_paid"
    assert account.state.invoices["INV-2"].open == 1500


def test_explicit_overpayment_of_one_invoice_becomes_credit() -> None:
    account = account_with_invoices(10000, 2000)
    pay(account, "P1", 3000, Instruction("explicit", (Line("invoice", "INV-2", 3000),)))
    assert account.state.invoices["INV-2"].status == "paid"
    assert account.state.invoices["INV-1"].open == 10000
    assert account.state.credit_balance == 1000


def test_open_credits_are_applied_automatically_with_any_payment() -> None:
    account = account_with_invoices(10000)
    account.issue_credit(CTX, credit="CM1", amount=2500, reference="goodwill")
    account.collect_events()
    events = pay(account, "P1", 7500, Instruction("explicit", (Line("invoice", "INV-1", 7500),)))
    applied = [e for e in events if isinstance(e, ev.CreditApplied)]
    assert [(e.credit_id, e.amount, e.with_payment) for e in applied] == [("CM1", 2500, "P1")]
    assert account.state.invoices["INV-1"].status == "paid"
    assert account.state.credit_balance == 0


def test_exact_amount_policy_refuses_anything_else_and_writes_nothing() -> None:
    account = account_with_invoices(10000)
    with pytest.raises(PolicyViolation) as caught:
        pay(account, "P1", 9000, Instruction("explicit", (Line("invoice", "INV-1", 9000),), exact=True))
    assert caught.value.field == "invoices.INV-1"
    assert account.pending_events == () and account.state.payments == {}
    pay(account, "P1", 10000, Instruction("explicit", (Line("invoice", "INV-1", 10000),), exact=True))
    assert account.state.balance == 0


def test_allocations_must_add_up_and_name_known_open_invoices() -> None:
    account = account_with_invoices(10000)
    with pytest.raises(ValidationError) as mismatch:
        pay(account, "P1", 5000, Instruction("explicit", (Line("invoice", "INV-1", 4000),)))
    assert mismatch.value.field == "allocations"
    with pytest.raises(NotFound) as unknown:
        pay(account, "P1", 5000, Instruction("explicit", (Line("invoice", "NOPE", 5000),)))
    assert unknown.value.field == "invoices.NOPE"
    pay(account, "P1", 10000, Instruction("distribute"))
    with pytest.raises(Conflict):
        pay(account, "P2", 10, Instruction("explicit", (Line("invoice", "INV-1", 10),)))


def test_declined_card_is_recorded_and_applies_nothing() -> None:
    account = account_with_invoices(10000)
    events = pay(account, "P1", 10000, Instruction("distribute"), status="declined")
    assert names(events) == ["PaymentSubmitted", "PaymentDeclined"]
    assert account.state.balance == 10000
    assert account.state.payments["P1"].status == "declined"


def test_ach_is_pending_until_it_settles_then_applied() -> None:
    account = account_with_invoices(10000)
    events = pay(account, "P1", 10000, Instruction("distribute"), method="ach", status="pending")
    assert names(events) == ["PaymentSubmitted"]
    assert account.state.balance == 10000
    account.settle_payment(CTX, payment="P1")
    assert names(account.collect_events()) == ["PaymentSettled", "PaymentApplied"]
    assert account.state.balance == 0


def test_ach_returned_after_settling_undoes_applications_credit_and_spent_credits() -> None:
    account = account_with_invoices(10000, 5000)
    account.issue_credit(CTX, credit="CM1", amount=1000, reference="memo")
    pay(account, "P1", 16000, Instruction("distribute"), method="ach", status="pending")
    account.settle_payment(CTX, payment="P1")
    account.collect_events()
    assert account.state.balance == 0 and account.state.credit_balance == 2000  # memo CM1 + overpayment P1-CR
    account.return_payment(CTX, payment="P1", return_code="R01")
    events = account.collect_events()
    assert names(events)[-1] == "PaymentReturned"
    assert account.state.balance == 15000
    assert account.state.credit_balance == 1000
    assert account.state.payments["P1"].status == "returned"


def test_only_ach_payments_are_returned() -> None:
    account = account_with_invoices(10000)
    pay(account, "P1", 10000, Instruction("distribute"))
    with pytest.raises(PolicyViolation):
        account.return_payment(CTX, payment="P1")


def test_refund_takes_back_the_overpayment_credit_first() -> None:
    account = account_with_invoices(10000)
    pay(account, "P1", 12000, Instruction("distribute"))
    account.refund_payment(CTX, payment="P1", amount=2000, refund_transaction_id="rf1", idempotency_key="r1")
    assert names(account.collect_events()) == ["CreditReversed", "PaymentRefunded"]
    assert account.state.balance == 0 and account.state.credit_balance == 0
    account.refund_payment(CTX, payment="P1", amount=4000, refund_transaction_id="rf2", idempotency_key="r2")
    assert account.state.balance == 4000
    with pytest.raises(PolicyViolation):
        account.refund_payment(CTX, payment="P1", amount=6001, refund_transaction_id="x", idempotency_key="r3")


def test_deposit_holds_the_payment_on_the_account() -> None:
    account = account_with_invoices(10000)
    events = pay(account, "P1", 4000, Instruction("deposit"))
    assert names(events)[-1] == "PaymentDeposited"
    assert account.state.credits["P1-DEP"].kind == "deposit"
    assert account.state.balance == 10000 and account.state.credit_balance == 4000


def test_every_event_carries_actor_and_channel() -> None:
    account = account_with_invoices(10000)
    for event in pay(account, "P1", 10000, Instruction("distribute")):
        assert event.by == ev.Actor("customer", "web", "portal")
        assert event.timestamp == CTX.at
