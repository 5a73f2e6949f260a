"""Orders, authorizations and reauthorization on a price rise (seeds 000 and 004)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.aggregates.orders import price_after_reauthorization
from ledger.errors import Conflict, Expired, PolicyViolation

T0 = datetime(2026, 9, 1, 14, tzinfo=UTC)


def at(**delta: float) -> ev.Context:
    return ev.Context(at=T0 + timedelta(**delta), by=ev.Actor("csr", "jdoe", "csr"))


def account_with_order(amount: int = 50000) -> Account:
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=amount, channel="phone")
    account.collect_events()
    return account


def names(account: Account) -> list[str]:
    return [type(e).__name__ for e in account.collect_events()]


def test_guest_payment_applied_to_the_open_order_balance_due() -> None:
    account = account_with_order(50000)
    account.record_payment(at(), payment="P1", amount=20000, method="card", token="tok_visa",
                           transaction_id="t1", status="approved", decline_code=None, idempotency_key="k1",
                           request_hash="h", instruction=Instruction("explicit", (Line("order", "O1", 20000),)))
    assert account.state.orders["O1"].paid == 20000
    assert account.state.orders["O1"].open == 30000


def test_authorization_is_good_for_29_days_then_expires() -> None:
    account = account_with_order()
    event = account.authorize_card(at(), authorization="A1", order="O1", amount=50000, token="tok_visa",
                                   transaction_id="t1")
    assert event.expires_at == T0 + timedelta(days=29)
    with pytest.raises(PolicyViolation):
        account.expire_authorization(at(days=28), authorization="A1")
    assert [a.id for a in account.expiring_authorizations(T0 + timedelta(days=27), timedelta(days=3))] == ["A1"]
    assert account.expiring_authorizations(T0 + timedelta(days=20), timedelta(days=3)) == []
    with pytest.raises(Expired):
        account.check_capture(at(days=29), authorization="A1", amount=50000)
    account.expire_authorization(at(days=29), authorization="A1")
    assert account.state.authorizations["A1"].status == "expired"


def test_price_rise_reauthorized_then_old_order_cancelled_new_one_linked() -> None:
    account = account_with_order(50000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=50000, token="tok_visa",
                           transaction_id="t1")
    account.change_order_price(at(days=3), order="O1", new_amount=65000)
    account.request_reauthorization(at(days=3), authorization="A1", cart_id="CART1", cart_token_hash="h")
    assert account.state.authorizations["A1"].requested_amount == 65000
    account.record_reauthorization(at(days=4), authorization="A1", new_authorization="A2", amount=65000,
                                   status="approved", transaction_id="t2", decline_code=None)
    account.replace_order(at(days=4), order="O1", new_order="O2", amount=65000)
    assert names(account)[-3:] == ["ReauthorizationRequested", "Reauthorized", "OrderReplaced"]
    assert account.state.orders["O1"].status == "replaced"
    assert account.state.orders["O1"].replaced_by == "O2"
    assert account.state.orders["O2"].replaces == "O1"
    assert account.state.authorizations["A2"].order_id == "O2"
    assert account.state.authorizations["A2"].expires_at == T0 + timedelta(days=33)


@pytest.mark.parametrize(("new_price", "approved", "replaced_for"), [
    (65000, 65000, 65000),  # repriced up, then the new price approved at checkout
    (50000, 65000, 65000),  # a cart sent for more than the order's recorded price
    (50000, 50000, None),  # an expired hold renewed at the same price: the order stays
    (40000, 40000, None),  # the price fell
])
def test_a_reauthorization_replaces_the_order_only_when_the_price_went_up(new_price: int, approved: int,
                                                                          replaced_for: int | None) -> None:
    account = account_with_order(50000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=50000, token="tok_visa",
                           transaction_id="t1")
    if new_price != 50000:
        account.change_order_price(at(days=1), order="O1", new_amount=new_price)
    event = account.record_reauthorization(at(days=2), authorization="A1", new_authorization="A2",
                                           amount=approved, status="approved", transaction_id="t2",
                                           decline_code=None)
    assert isinstance(event, ev.Reauthorized)
    assert price_after_reauthorization(account.state, event) == replaced_for


def test_failed_reauthorization_flags_manual_processing() -> None:
    account = account_with_order(50000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=50000, token="tok_visa",
                           transaction_id="t1")
    account.request_reauthorization(at(days=1), authorization="A1", cart_id="C", cart_token_hash="h",
                                    new_amount=70000)
    account.record_reauthorization(at(days=2), authorization="A1", new_authorization="A2", amount=70000,
                                   status="declined", transaction_id="t2", decline_code="card_declined")
    assert account.state.orders["O1"].manual_processing
    assert account.state.authorizations["A1"].status == "failed"
    account.request_reauthorization(at(days=3), authorization="A1", cart_id="C2", cart_token_hash="h",
                                    new_amount=70000)
    account.record_reauthorization(at(days=3), authorization="A1", new_authorization="A3", amount=70000,
                                   status="approved", transaction_id="t3", decline_code=None)
    assert not account.state.orders["O1"].manual_processing  # the retry with another card resolved it


def test_capture_pays_the_order_and_replacing_moves_payments_along() -> None:
    account = account_with_order(50000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=50000, token="tok_visa",
                           transaction_id="t1")
    account.capture_authorization(at(days=1), authorization="A1", payment="P1", amount=30000,
                                  transaction_id="t1c", idempotency_key="cap", request_hash="h", method="card")
    assert account.state.orders["O1"].paid == 30000
    account.replace_order(at(days=2), order="O1", new_order="O2", amount=60000)
    assert account.state.orders["O1"].paid == 0
    assert account.state.orders["O2"].paid == 30000
    with pytest.raises(Conflict):
        account.capture_authorization(at(days=3), authorization="A1", payment="P2", amount=1,
                                      transaction_id="x", idempotency_key="cap2", request_hash="h",
                                      method="card")


def test_cancelled_order_money_becomes_credit() -> None:
    account = account_with_order(50000)
    account.record_payment(at(), payment="P1", amount=20000, method="card", token="tok_visa",
                           transaction_id="t1", status="approved", decline_code=None, idempotency_key="k1",
                           request_hash="h", instruction=Instruction("explicit", (Line("order", "O1", 20000),)))
    account.cancel_order(at(), order="O1", reason="customer changed mind")
    assert account.state.orders["O1"].status == "cancelled"
    assert account.state.credit_balance == 20000


def test_invoice_void_and_adjust_rules() -> None:
    account = account_with_order()
    account.issue_invoice(at(), invoice="I1", total=10000, issued_on=date(2026, 9, 1), due_on=date(2026, 9, 30))
    account.record_payment(at(), payment="P1", amount=4000, method="card", token="tok_visa",
                           transaction_id="t1", status="approved", decline_code=None, idempotency_key="k1",
                           request_hash="h", instruction=Instruction("distribute"))
    with pytest.raises(PolicyViolation):
        account.adjust_invoice(at(), invoice="I1", new_total=3000)
    account.adjust_invoice(at(), invoice="I1", new_total=12000)
    assert account.state.invoices["I1"].open == 8000
    account.void_invoice(at(), invoice="I1")
    assert account.state.balance == 0 and account.state.credit_balance == 4000


def test_invoicing_an_order_moves_its_payments_onto_the_invoice() -> None:
    account = account_with_order(50000)
    account.record_payment(at(), payment="P1", amount=20000, method="card", token="tok_visa",
                           transaction_id="t1", status="approved", decline_code=None, idempotency_key="k1",
                           request_hash="h", instruction=Instruction("explicit", (Line("order", "O1", 20000),)))
    account.issue_invoice(at(), invoice="I1", total=50000, issued_on=date(2026, 9, 1), due_on=date(2026, 9, 30),
                          order="O1")
    assert account.state.orders["O1"].status == "invoiced" and account.state.orders["O1"].open == 0
    assert account.state.invoices["I1"].paid == 20000 and account.state.balance == 30000
    with pytest.raises(Conflict):
        account.cancel_order(at(), order="O1")


def test_paid_beyond_the_invoice_total_becomes_credit() -> None:
    account = account_with_order(50000)
    account.record_payment(at(), payment="P1", amount=50000, method="card", token="tok_visa",
                           transaction_id="t1", status="approved", decline_code=None, idempotency_key="k1",
                           request_hash="h", instruction=Instruction("explicit", (Line("order", "O1", 50000),)))
    account.issue_invoice(at(), invoice="I1", total=45000, issued_on=date(2026, 9, 1), due_on=date(2026, 9, 30),
                          order="O1")
    assert account.state.invoices["I1"].status == "paid"
    assert account.state.credit_balance == 5000 and account.state.payments["P1"].credited == 5000
