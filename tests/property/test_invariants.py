"""Invariants 1-4 of DESIGN.md over random histories (hypothesis, stateful).

1. conservation per payment, 2. no invoice applied past its total, 3. oldest-first distribution,
4. balanced double entry that agrees with open invoices and open credits. Checked after every step.
Between steps the Account may go through its snapshot (written, then read back lazily) as a cold load would.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.aggregates.root import AccountSnapshot
from ledger.invariants import violations
from ledger.ports.tokens import hash_token
from ledger.store import topics
from ledger.store.mapper import decode_event, encode_event
from tests.property.histories import History

amounts = st.integers(min_value=1, max_value=50_000)
methods = st.sampled_from(["card", "paypal", "ach"])
modes = st.sampled_from(["explicit", "distribute", "distribute", "deposit", "deposit:parts", "deposit:service_fee"])


class AccountHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = History()

    @rule(total=amounts, day=st.integers(0, 90))
    def issue_invoice(self, total: int, day: int) -> None:
        self.h.issue_invoice(total, day)

    @rule(amount=amounts, method=methods, mode=modes, pick=st.integers(0, 50), declined=st.booleans())
    def pay(self, amount: int, method: str, mode: str, pick: int, declined: bool) -> None:
        status = "declined" if declined and method != "ach" else None
        self.h.pay(amount, method, mode, pick, status)

    @rule(pick=st.integers(0, 50), settle=st.booleans())
    def ach_outcome(self, pick: int, settle: bool) -> None:
        pending = self.h.payments("ach", "pending")
        if pending:
            action = "settle_payment" if settle else "return_payment"
            self.h.attempt(action, payment=pending[pick % len(pending)])

    @rule(pick=st.integers(0, 50))
    def late_ach_return(self, pick: int) -> None:
        settled = self.h.payments("ach", "settled")
        if settled:
            self.h.attempt("return_payment", payment=settled[pick % len(settled)])

    @rule(pick=st.integers(0, 50), amount=amounts)
    def refund(self, pick: int, amount: int) -> None:
        settled = self.h.payments("card", "settled") + self.h.payments("paypal", "settled")
        if settled:
            self.h.attempt("refund_payment", payment=settled[pick % len(settled)], amount=amount,
                           refund_transaction_id="rf", idempotency_key=self.h.next_id("rk"))

    @rule(amount=amounts)
    def issue_credit(self, amount: int) -> None:
        self.h.attempt("issue_credit", credit=self.h.next_id("CM"), amount=amount, reference="memo")

    @rule(pick=st.integers(0, 50))
    def void_invoice(self, pick: int) -> None:
        invoices = sorted(self.h.account.state.invoices)
        if invoices:
            self.h.attempt("void_invoice", invoice=invoices[pick % len(invoices)])

    @rule(pick=st.integers(0, 50), delta=st.integers(-20_000, 20_000))
    def adjust_invoice(self, pick: int, delta: int) -> None:
        invoices = sorted(self.h.account.state.invoices.values(), key=lambda i: i.sequence)
        if invoices:
            inv = invoices[pick % len(invoices)]
            if inv.total + delta > 0:
                self.h.attempt("adjust_invoice", invoice=inv.id, new_total=inv.total + delta)

    @rule(amount=amounts, pay=amounts, cancel=st.booleans())
    def order_flow(self, amount: int, pay: int, cancel: bool) -> None:
        order_id = self.h.next_id("O")
        if self.h.attempt("place_order", order=order_id, amount=amount):
            self.h.attempt("record_payment", payment=self.h.next_id("P"), amount=pay, method="card",
                           token="tok_visa", transaction_id="t", status="approved", decline_code=None,
                           idempotency_key=self.h.next_id("k"), request_hash="h",
                           instruction=Instruction("explicit", (Line("order", order_id, pay),)))
            if cancel:
                self.h.attempt("cancel_order", order=order_id)
            elif amount % 3 == 0:
                total = max(1, amount + pay % 500 - 250)  # invoiced for a little less or more than paid
                self.h.attempt("issue_invoice", invoice=self.h.next_id("INV-"), total=total,
                               issued_on=date(2026, 9, 1), due_on=date(2026, 9, 30), order=order_id)
            else:
                self.h.attempt("replace_order", order=order_id, new_order=self.h.next_id("O"),
                               amount=amount + 1000)

    @rule(amount=amounts, capture=amounts, rise=st.integers(0, 5000), replace=st.booleans())
    def authorization_flow(self, amount: int, capture: int, rise: int, replace: bool) -> None:
        order_id, auth_id = self.h.next_id("O"), self.h.next_id("A")
        if not self.h.attempt("place_order", order=order_id, amount=amount):
            return
        self.h.attempt("authorize_card", authorization=auth_id, order=order_id, amount=amount,
                       token="tok_visa", transaction_id="t")
        if replace:
            new_auth = self.h.next_id("A")
            self.h.attempt("record_reauthorization", authorization=auth_id, new_authorization=new_auth,
                           amount=amount + rise, status="approved", transaction_id="t2", decline_code=None)
            self.h.attempt("replace_order", order=order_id, new_order=self.h.next_id("O"),
                           amount=amount + rise)
            auth_id = new_auth
        self.h.attempt("capture_authorization", authorization=auth_id, payment=self.h.next_id("P"),
                       amount=capture, transaction_id="tc", idempotency_key=self.h.next_id("ck"), request_hash="h",
                       method="card")

    @rule(price=st.integers(0, 50_000), real=amounts, hold=st.booleans())
    def quote_flow(self, price: int, real: int, hold: bool) -> None:
        """Issue 14: a quote (maybe 0.00) repriced once known, its cart sent with no hold, then a first hold."""
        order_id = self.h.next_id("O")
        if self.h.attempt("place_order", order=order_id, amount=price):
            self.h.attempt("change_order_price", order=order_id, new_amount=real)
            self.h.attempt("request_cart", order=order_id, cart_id=self.h.next_id("CART"), cart_token_hash="h")
            if hold:
                self.h.attempt("authorize_card", authorization=self.h.next_id("A"), order=order_id, amount=real,
                               token="tok_visa", transaction_id="t")

    @rule(amount=amounts, rise=st.integers(1, 5000), sent=st.integers(1, 3), pick=st.integers(0, 2),
          forged=st.booleans(), declined=st.booleans())
    def cart_flow(self, amount: int, rise: int, sent: int, pick: int, forged: bool, declined: bool) -> None:
        """Seed 004: carts sent for a hold after a price rise; only the newest, with its own token, checks out (a
        declined checkout leaves it open), and once only."""
        order_id, auth_id, new = self.h.next_id("O"), self.h.next_id("A"), self.h.next_id("A")
        if not (self.h.attempt("place_order", order=order_id, amount=amount) and self.h.attempt(
                "authorize_card", authorization=auth_id, order=order_id, amount=amount, token="tok_visa",
                transaction_id="t") and self.h.attempt("change_order_price", order=order_id, new_amount=amount + rise)):
            return
        carts = [self.h.next_id("CART") for _ in range(sent)]
        assert all([self.h.attempt("request_reauthorization", authorization=auth_id, cart_id=cart,
                                   cart_token_hash=hash_token(cart)) for cart in carts])

        def checkout(cart: str, hold: str, proof: str) -> bool:
            return self.h.attempt("record_reauthorization", authorization=auth_id, new_authorization=hold,
                                  amount=amount + rise, status="declined" if declined else "approved",
                                  transaction_id="t2", decline_code=None, cart=cart, cart_token_hash=hash_token(proof))

        cart = carts[pick % sent]
        done = checkout(cart, new, cart + "x" if forged else cart)
        assert done == (cart == carts[-1] and not forged)
        if done and not declined:
            assert not checkout(cart, self.h.next_id("A"), cart)  # used: refused

    @invariant()
    def one_open_cart_per_order(self) -> None:
        """A newer cart for an order or its hold replaces the older: at most one open cart per order."""
        opened = [c.order_id for c in self.h.account.state.carts.values() if c.status == "open"]
        assert len(opened) == len(set(opened)), opened

    @rule(pick=st.integers(0, 50), month=st.integers(1, 12), year=st.integers(2025, 2027))
    def autopay_with_a_saved_card(self, pick: int, month: int, year: int) -> None:
        """Issue 14: a saved card (maybe expired: refused) and autopay's failure on an invoice, recorded once."""
        method = self.h.next_id("M")
        if self.h.attempt("add_method", method=method, kind="card", token="tok_visa", brand="visa", last4="4242",
                          exp_month=month, exp_year=year):
            invoices = sorted(self.h.account.state.invoices)
            if pick % 2:
                self.h.now += timedelta(days=800)  # the card has expired since
            if invoices:
                self.h.attempt("record_autopay_failure", invoice=invoices[pick % len(invoices)], method=method)

    @rule(pick=st.integers(0, 50), amount=amounts, refund=st.booleans())
    def use_credit(self, pick: int, amount: int, refund: bool) -> None:
        credits = sorted(self.h.account.state.credits)
        invoices = sorted(self.h.account.state.invoices)
        if not credits:
            return
        credit_id = credits[pick % len(credits)]
        if refund:
            self.h.attempt("refund_credit", credit=credit_id, amount=amount, refund_transaction_id="rf",
                           idempotency_key=self.h.next_id("rk"))
        elif invoices:
            self.h.attempt("apply_credit", credit=credit_id,
                           line=Line("invoice", invoices[pick % len(invoices)], amount))

    @rule()
    def reload_from_snapshot(self) -> None:
        """Continue on the Account as a cold load finds it: snapshot written and read back lazily."""
        account = self.h.account
        stored = encode_event(AccountSnapshot.take(account))

        def load() -> Account:
            loaded: Account = Account.projector(None, [decode_event(topics.topic_of(AccountSnapshot), stored)])
            return loaded

        compared, reloaded = load(), load()
        assert compared.version == account.version
        assert compared.state == account.state == Account.projector(None, self.h.events).state
        assert encode_event(AccountSnapshot.take(reloaded)) == stored  # untouched entries written back verbatim
        self.h.account = reloaded  # the next steps run on entries still encoded

    @invariant()
    def sound(self) -> None:
        found = violations(self.h.events)
        assert not found, found

    @invariant()
    def deposits_for_a_purpose_are_never_swept(self) -> None:
        """Seed 000: a deposit held for a purpose is applied only explicitly, never with a payment."""
        held = {e.credit_id for e in self.h.events if isinstance(e, ev.PaymentDeposited) and e.purpose}
        swept = [e for e in self.h.events if isinstance(e, ev.CreditApplied) and e.credit_id in held
                 and e.with_payment is not None and e.moved_from is None and e.reallocated_for is None]
        assert not swept, swept


TestAccountHistory = AccountHistory.TestCase
