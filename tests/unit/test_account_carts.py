"""Cart links, "Approve Order Payment" (seed 004): the account keeps each cart sent, and a checkout naming one is
refused unless its token's hash matches, it is this hold's (or this order's first) cart, no newer cart replaced it
and no other checkout used it; a CSR by phone names none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.amount_due import amount_due
from ledger.aggregates.carts import cart_amount, cart_status
from ledger.aggregates.events.payments import Instruction, Line
from ledger.aggregates.orders import price_after_reauthorization
from ledger.errors import LedgerError
from ledger.ports.tokens import hash_token

T0 = datetime(2026, 9, 1, 14, tzinfo=UTC)


def at(days: int = 0) -> ev.Context:
    return ev.Context(at=T0 + timedelta(days=days), by=ev.Actor("csr", "jdoe", "csr"))


def held_and_repriced(*carts: str) -> Account:
    """A 100.00 order held on a card, repriced to 150.00, a cart link sent per name in ``carts`` (token t-<name>)."""
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=10000, token="tok_visa", transaction_id="t1")
    account.change_order_price(at(1), order="O1", new_amount=15000)
    for day, cart in enumerate(carts, start=1):
        account.request_reauthorization(at(day), authorization="A1", cart_id=cart,
                                        cart_token_hash=hash_token(f"t-{cart}"))
    return account


def refusal(call: object, *args: object, **kwargs: object) -> tuple[str, str | None]:
    with pytest.raises(LedgerError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value.code, refused.value.field


def reauthorize(account: Account, cart: str | None, token: str, new: str = "A2", status: str = "approved") -> ev.Event:
    return account.record_reauthorization(at(5), authorization="A1", new_authorization=new, amount=15000,
                                          status=status, transaction_id="t2", decline_code="do_not_honor",
                                          cart=cart, cart_token_hash=hash_token(token))


def test_the_account_keeps_each_cart_and_a_newer_one_replaces_the_older() -> None:
    account = held_and_repriced("C1", "C2")
    carts = account.state.carts
    assert [(c.id, c.order_id, c.authorization_id, c.amount, c.status) for c in carts.values()] == [
        ("C1", "O1", "A1", 15000, "replaced"), ("C2", "O1", "A1", 15000, "open")]
    assert carts["C2"].token_hash == hash_token("t-C2") and cart_amount(account.state, carts["C2"]) == 15000
    assert cart_amount(account.state, carts["C1"]) == 0


def test_a_wrong_token_or_an_unknown_cart_is_refused_before_anything() -> None:
    account = held_and_repriced("C1")
    check = account.check_reauthorization
    assert refusal(check, authorization="A1", new_authorization="A2", amount=15000, cart="C1",
                   cart_token_hash=hash_token("t-C9")) == ("cart_token_invalid", "cart_token")
    assert refusal(check, authorization="A1", new_authorization="A2", amount=15000, cart="C9",
                   cart_token_hash=hash_token("t-C9")) == ("cart_token_invalid", "cart_token")
    assert refusal(reauthorize, account, "C1", "t-C9") == ("cart_token_invalid", "cart_token")
    assert "A2" not in account.state.authorizations


def test_an_older_link_is_refused_and_the_newest_checks_out_once() -> None:
    account = held_and_repriced("C1", "C2")
    assert refusal(reauthorize, account, "C1", "t-C1") == ("cart_replaced", "cart")
    event = reauthorize(account, "C2", "t-C2")
    assert isinstance(event, ev.Reauthorized) and event.cart_id == "C2"
    cart = account.state.carts["C2"]
    assert (cart.status, cart.used_for) == ("used", "A2")
    assert account.checked_out("C2", hash_token("t-C2"), checkout="A2", authorization="A1")  # the same checkout
    assert refusal(account.checked_out, "C2", hash_token("t-C2"), checkout="A3",
                   authorization="A1") == ("cart_used", "cart")


def test_a_cart_for_another_hold_or_order_is_refused() -> None:
    account = held_and_repriced("C1")
    account.place_order(at(2), order="O2", amount=3000)
    account.authorize_card(at(2), authorization="B1", order="O2", amount=3000, token="tok_visa", transaction_id="t3")
    assert refusal(account.check_reauthorization, authorization="B1", new_authorization="B2", amount=3000,
                   cart="C1", cart_token_hash=hash_token("t-C1")) == ("cart_mismatch", "cart")
    assert refusal(account.check_authorization, authorization="B2", order="O1", amount=1000, at=T0,
                   cart="C1", cart_token_hash=hash_token("t-C1")) == ("cart_mismatch", "cart")


def test_a_declined_checkout_keeps_the_cart_open_and_names_it() -> None:
    account = held_and_repriced("C1")
    failed = reauthorize(account, "C1", "t-C1", status="declined")
    assert isinstance(failed, ev.ReauthorizationFailed) and failed.cart_id == "C1"
    assert account.state.carts["C1"].status == "open" and account.state.orders["O1"].manual_processing
    assert isinstance(reauthorize(account, "C1", "t-C1"), ev.Reauthorized)


def test_a_csr_by_phone_names_no_cart_and_the_link_then_reads_closed() -> None:
    account = held_and_repriced("C1")
    event = account.record_reauthorization(at(5), authorization="A1", new_authorization="A2", amount=15000,
                                           status="approved", transaction_id="t2", decline_code=None)
    assert isinstance(event, ev.Reauthorized) and event.cart_id is None
    assert account.state.carts["C1"].status == "open"
    assert cart_status(account.state, account.state.carts["C1"]) == "closed"


def first_cart() -> Account:
    """A 0.00 quote whose real price, 80.00, is known: its first cart link (token ``t-Q``)."""
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="Q1", amount=0)
    account.change_order_price(at(1), order="Q1", new_amount=8000)
    account.request_cart(at(1), order="Q1", cart_id="Q", cart_token_hash=hash_token("t-Q"))
    return account


def test_an_orders_first_cart_places_its_first_hold_once() -> None:
    account = first_cart()
    assert cart_amount(account.state, account.state.carts["Q"]) == 8000
    assert refusal(account.authorize_card, at(2), authorization="H1", order="Q1", amount=8000, token="tok_visa",
                   transaction_id="t1", cart="Q", cart_token_hash=hash_token("t-X")) == ("cart_token_invalid",
                                                                                          "cart_token")
    event = account.authorize_card(at(2), authorization="H1", order="Q1", amount=8000, token="tok_visa",
                                   transaction_id="t1", cart="Q", cart_token_hash=hash_token("t-Q"))
    assert event.cart_id == "Q" and account.state.carts["Q"].status == "used"
    assert refusal(account.checked_out, "Q", hash_token("t-Q"), checkout="H2", order="Q1") == ("cart_used", "cart")


def test_a_declined_first_cart_goes_to_manual_processing_until_another_card_checks_out() -> None:
    account = first_cart()
    failed = account.record_declined_checkout(at(2), authorization="H1", order="Q1", cart="Q",
                                              cart_token_hash=hash_token("t-Q"), decline_code="do_not_honor")
    assert (failed.order_id, failed.cart_id, failed.decline_code) == ("Q1", "Q", "do_not_honor")
    assert account.state.orders["Q1"].manual_processing and account.state.carts["Q"].status == "open"
    account.authorize_card(at(3), authorization="H2", order="Q1", amount=8000, token="tok_amex",
                           transaction_id="t2", cart="Q", cart_token_hash=hash_token("t-Q"))
    assert not account.state.orders["Q1"].manual_processing


def test_events_recorded_before_carts_were_named_still_replay() -> None:
    account = held_and_repriced("C1")
    old = ev.Reauthorized(originator_id=account.id, originator_version=account.version + 1, timestamp=T0,
                          authorization_id="A1", new_authorization_id="A2", order_id="O1", amount=15000,
                          transaction_id="t2", expires_at=T0 + timedelta(days=29))
    assert old.cart_id is None
    account.mutate(old)
    assert account.state.authorizations["A2"].status == "active" and account.state.carts["C1"].status == "open"


def pending_ach(account: Account, payment: str, order: str, amount: int, day: int = 1) -> None:
    """An ACH on ``order`` left pending at the bank (issue 14)."""
    account.record_payment(at(day), payment=payment, amount=amount, method="ach", token="tok_ach",
                           transaction_id=f"txn_{payment}", status="pending", decline_code=None,
                           idempotency_key=payment, request_hash="h",
                           instruction=Instruction("explicit", (Line("order", order, amount),)))


def test_a_cart_for_an_order_partly_paid_by_a_pending_ach_holds_the_rest_and_checks_out() -> None:
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    pending_ach(account, "ACH1", "O1", 4000)
    sent = account.request_cart(at(1), order="O1", cart_id="CART1", cart_token_hash=hash_token("t-C"))
    assert sent.amount == 6000  # send-cart prices the cart at what the ACH leaves due
    assert cart_amount(account.state, account.state.carts["CART1"]) == 6000
    assert refusal(account.authorize_card, at(2), authorization="H0", order="O1", amount=10000, token="tok_visa",
                   transaction_id="t0", cart="CART1", cart_token_hash=hash_token("t-C")) == ("exceeds_amount_due",
                                                                                              "amount")
    account.authorize_card(at(2), authorization="H1", order="O1", amount=6000, token="tok_visa",
                           transaction_id="t1", cart="CART1", cart_token_hash=hash_token("t-C"))
    account.settle_payment(at(3), payment="ACH1")
    account.capture_authorization(at(4), authorization="H1", payment="CAP", amount=6000, transaction_id="t1c",
                                  idempotency_key="cap", request_hash="h", method="card")
    assert account.state.orders["O1"].paid == 10000 and account.state.credit_balance == 0


def test_a_reauthorization_cart_holds_the_new_price_less_a_pending_ach_whatever_the_ach_does() -> None:
    account = held_and_repriced()  # 100.00 held, repriced to 150.00
    pending_ach(account, "ACH1", "O1", 5000)
    event = account.request_reauthorization(at(2), authorization="A1", cart_id="C1", cart_token_hash="h")
    assert event.new_amount == 10000 and account.checkout_amount("A1") == 10000
    assert refusal(account.check_reauthorization, authorization="A1", new_authorization="A2",
                   amount=9999) == ("below_amount_due", "amount")
    account.settle_payment(at(3), payment="ACH1")
    assert account.checkout_amount("A1") == 10000  # what is left of 150.00 once the ACH paid 50.00
    account.return_payment(at(4), payment="ACH1")
    assert account.checkout_amount("A1") == 15000  # the ACH came back: all of the new price is due again


def test_a_pending_ach_on_an_order_replaced_at_reauthorization_pays_the_new_order() -> None:
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=6000, token="tok_visa", transaction_id="t1")
    pending_ach(account, "ACH1", "O1", 4000)
    account.change_order_price(at(1), order="O1", new_amount=12000)
    account.request_reauthorization(at(1), authorization="A1", cart_id="C1", cart_token_hash="h")
    event = account.record_reauthorization(at(2), authorization="A1", new_authorization="A2",
                                           amount=account.checkout_amount("A1"), status="approved",
                                           transaction_id="t2", decline_code=None)
    assert isinstance(event, ev.Reauthorized) and event.amount == 8000
    price = price_after_reauthorization(account.state, event)
    assert price == 12000  # the price the customer approved: the ACH's 40.00 and the new 80.00 hold
    account.replace_order(at(2), order="O1", new_order="O2", amount=price)
    assert amount_due(account.state, "order", "O2") == 8000  # the pending ACH moved along with the order
    account.settle_payment(at(3), payment="ACH1")
    account.capture_authorization(at(4), authorization="A2", payment="CAP", amount=8000, transaction_id="t2c",
                                  idempotency_key="cap", request_hash="h", method="card")
    assert account.state.orders["O2"].paid == 12000 and account.state.credit_balance == 0


def test_a_reauthorization_holds_what_the_orders_other_hold_leaves() -> None:
    """Two holds on a 100.00 order (60.00 and 40.00): renewing one holds 60.00 again, not the whole 100.00 (which
    captured with the other would collect 140.00)."""
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=6000, token="tok_visa", transaction_id="t1")
    account.authorize_card(at(), authorization="A2", order="O1", amount=4000, token="tok_visa", transaction_id="t2")
    assert account.checkout_amount("A1") == 6000
    account.request_reauthorization(at(1), authorization="A1", cart_id="C1", cart_token_hash="h")
    assert account.checkout_amount("A1") == 6000
    assert refusal(account.check_reauthorization, authorization="A1", new_authorization="A3",
                   amount=5999) == ("below_amount_due", "amount")
    account.record_reauthorization(at(2), authorization="A1", new_authorization="A3", amount=6000,
                                   status="approved", transaction_id="t3", decline_code=None)
    for hold, payment in (("A2", "P2"), ("A3", "P3")):
        account.capture_authorization(at(3), authorization=hold, payment=payment,
                                      amount=account.state.authorizations[hold].amount, transaction_id=f"c{hold}",
                                      idempotency_key=payment, request_hash="h", method="card")
    assert account.state.orders["O1"].paid == 10000 and account.state.credit_balance == 0


def test_the_cart_of_a_hold_covering_its_whole_order_is_open_for_its_amount() -> None:
    """Renewing a hold at the same price (an expired hold, seed 004): its own amount is not another hold's."""
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    account.authorize_card(at(), authorization="A1", order="O1", amount=10000, token="tok_visa", transaction_id="t1")
    account.request_reauthorization(at(1), authorization="A1", cart_id="C1", cart_token_hash="h")
    cart = account.state.carts["C1"]
    assert (cart_status(account.state, cart), cart_amount(account.state, cart)) == ("open", 10000)


def test_a_pending_ach_on_an_order_invoiced_since_pays_its_invoice() -> None:
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.place_order(at(), order="O1", amount=10000)
    pending_ach(account, "ACH1", "O1", 4000)
    account.issue_invoice(at(1), invoice="INV-1", total=10000, issued_on=T0.date(), due_on=T0.date(), order="O1")
    assert amount_due(account.state, "invoice", "INV-1") == 6000  # what the ACH leaves: the exact amount due
    account.settle_payment(at(2), payment="ACH1")
    assert account.state.invoices["INV-1"].open == 6000 and account.state.credit_balance == 0
