"""Decisions about authorizations: holds on a card or a PayPal account (seed 004: "if the customer pays by Credit
Card or PayPal, eCommerce will authorize a charge"; a bank account is never held).

An authorization is good for 29 days. When repair or fulfilment takes longer it expires and the CSR reaches
out; when the price rises the customer gets a cart link ("Approve Order Payment") and the card is authorized
for the new amount at checkout; if that fails, the order needs manual processing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.aggregates import amount_due
from ledger.aggregates import events as ev
from ledger.aggregates.carts import REAUTHORIZABLE, check_cart, checkout_amount, committed, order_due
from ledger.aggregates.events.authorizations import HoldMethod
from ledger.aggregates.events.payments import Instruction, Line
from ledger.aggregates.limits import check_amount
from ledger.aggregates.payments import OVERTAKEN, PaymentDecisions
from ledger.aggregates.state import LIVE_HOLDS, AccountState, Authorization, Order
from ledger.errors import Conflict, Expired, LedgerError, NotFound, PolicyViolation

#: Seed 004: "That authorization is good for 29 days."
AUTHORIZATION_TTL = timedelta(days=29)


def check_hold_amount(state: AccountState, order: Order, amount: int, *, reauthorization: bool,
                      field: str = "amount", held: int = 0, pending: int = 0) -> None:
    """A hold never covers more than the order's balance due less what its other live holds (``held``) and the
    pending payments on it (``pending``, issue 14) will pay (the excess could only be captured into a credit); a
    reauthorization covers at least all of the balance due (seed 004: the card "will be authorized for the new
    amount") less what those will pay (issue 14: a 40.00 ACH pending on a 120.00 order leaves 80.00 to hold, never
    120.00, which would collect 160.00 once both are paid)."""
    if amount <= 0:
        raise PolicyViolation("a hold must be for a positive amount", field=field, code="amount_not_positive")
    if reauthorization and amount < order.open - held - pending:
        raise PolicyViolation(f"order {order.id} has more than that due; reauthorize its balance due"
                              + (f" less its other holds and pending payments ({state.money(held + pending)})"
                                 if held + pending else ""), field=field, code="below_amount_due")
    check_amount(amount, state.currency, field)
    if not reauthorization and amount > order.open - held - pending:
        beyond = [f"{what} ({state.money(value)})"
                  for what, value in (("live holds", held), ("pending payments", pending)) if value]
        raise PolicyViolation(f"more than the balance due on order {order.id}"
                              + (f" beyond its {' and '.join(beyond)}" if beyond else ""), field=field,
                              code="exceeds_amount_due")


class AuthorizationDecisions(PaymentDecisions):
    def check_authorization(self, *, authorization: str, order: str, amount: int, at: datetime,
                            placed: bool = False, cart: str | None = None, cart_token_hash: str = "") -> None:
        """Refuse before the gateway is asked: the order's first cart link, when named (:func:`check_cart`), a new
        id, on an open order, for no more than its balance due less the live holds on it at ``at`` and its pending
        payments (none left: ``pending_payment``, naming them). ``placed``: the
        gateway placed this hold already (an earlier attempt whose answer was lost), so what other writers changed
        since (payments, other holds) no longer limits it. A cart's checkout holds the order's balance due, no less
        (``cart_mismatch``)."""
        if cart is not None:
            check_cart(self.state, cart, cart_token_hash, checkout=authorization, order=order)
        if authorization in self.state.authorizations:
            raise Conflict(f"authorization {authorization} already exists", field="authorization",
                           code="duplicate_id")
        found = self.open_order(order, field="order")
        try:
            check_hold_amount(self.state, found, amount, reauthorization=False,
                              held=amount_due.held_for(self.state, order, at),
                              pending=self.state.pending_for("order", order))
        except PolicyViolation as error:  # exceeds_amount_due is checked last: the request's own checks stand
            if not (placed and error.code == "exceeds_amount_due"):
                if error.code == "exceeds_amount_due":  # an order pending payments cover names them
                    amount_due.check_not_covered(self.state, "order", order, "order")
                raise
        if cart is not None and amount < (due := order_due(self.state, found)):  # the cart's amount, no less
            raise PolicyViolation(f"the cart link holds {self.state.money(due)}, not {self.state.money(amount)}",
                                  field="amount", code="cart_mismatch")

    def authorize_card(self, ctx: ev.Context, *, authorization: str, order: str, amount: int, token: str,
                       transaction_id: str, expires_at: datetime | None = None, placed: bool = False,
                       cart: str | None = None, cart_token_hash: str = "",
                       method: HoldMethod = "card") -> ev.CardAuthorized:
        """Record an approved hold for an order on ``token``, a card or PayPal (``method``), placed by the checkout
        of ``cart`` when named (declined holds are refused by the handler, nothing written); ``placed``: see
        :meth:`check_authorization`."""
        self.check_authorization(authorization=authorization, order=order, amount=amount, at=ctx.at, placed=placed,
                                 cart=cart, cart_token_hash=cart_token_hash)
        self.check_new_hold(transaction_id)
        return self.trigger(ctx, ev.CardAuthorized, authorization_id=authorization, order_id=order,
                            amount=amount, token=token, transaction_id=transaction_id,
                            expires_at=expires_at or ctx.at + AUTHORIZATION_TTL, cart_id=cart, method=method)

    def check_new_hold(self, transaction_id: str) -> None:
        """Refuse to record a hold the gateway answered with one the account holds already: an idempotency key
        reused for another hold gets the first hold's answer, and two holds on one would count its money twice."""
        if any(a.transaction_id == transaction_id for a in self.state.authorizations.values()):
            raise Conflict("this idempotency key was used for another hold", field="key",
                           code="idempotency_key_reused")

    def record_declined_checkout(self, ctx: ev.Context, *, authorization: str, order: str, cart: str,
                                 cart_token_hash: str, decline_code: str) -> ev.CardAuthorizationFailed:
        """The card was declined at the checkout of ``order``'s first cart link: manual processing (seed 004)."""
        check_cart(self.state, cart, cart_token_hash, checkout=authorization, order=order)
        self.open_order(order)
        return self.trigger(ctx, ev.CardAuthorizationFailed, authorization_id=authorization, order_id=order,
                            cart_id=cart, decline_code=decline_code)

    def checked_out(self, cart: str | None, cart_token_hash: str, *, checkout: str, authorization: str | None = None,
                    order: str | None = None) -> bool:
        """Whether the checkout placing hold ``checkout`` (for a hold's or an order's cart link, when named) is on
        record already; refused unless the cart may be checked out (:func:`check_cart`). Naming no cart: a hold
        that exists is the checkout's (the caller compares what it asked)."""
        if cart is None:
            return checkout in self.state.authorizations
        found = check_cart(self.state, cart, cart_token_hash, checkout=checkout, authorization=authorization,
                           order=order)
        return found.used_for == checkout

    def expire_authorization(self, ctx: ev.Context, *, authorization: str) -> ev.AuthorizationExpired:
        """Record that a hold passed its 29 days (the expiry worker calls this), once; a hold whose cart link was
        sent already (its expiry shown, not yet recorded) stays ``reauth_requested`` (issue 14)."""
        auth = self.authorization(authorization)
        if auth.expired:
            raise Conflict(f"the expiry of authorization {authorization} is on record", field="authorization",
                           code="already_expired")
        if auth.status not in ("active", "reauth_requested") or ctx.at < auth.expires_at:
            raise PolicyViolation("the authorization has not expired", field="authorization",
                                  code="not_expired")
        return self.trigger(ctx, ev.AuthorizationExpired, authorization_id=authorization)

    def request_reauthorization(self, ctx: ev.Context, *, authorization: str, cart_id: str,
                                cart_token_hash: str, new_amount: int | None = None) -> ev.ReauthorizationRequested:
        """Send (or re-trigger) the cart link for ``new_amount`` (the new price's balance due; by default the
        order's balance due, after a price change recorded on the order), less what pending payments on the order
        will pay (issue 14)."""
        found = self.reauthorizable(authorization)
        amount_due.check_not_covered(self.state, "order", found.id, "authorization")
        if new_amount is not None:
            check_hold_amount(self.state, found, new_amount, reauthorization=True,
                              pending=committed(self.state, found, authorization) - found.paid)
        return self.trigger(ctx, ev.ReauthorizationRequested, authorization_id=authorization, order_id=found.id,
                            new_amount=new_amount or order_due(self.state, found, authorization), cart_id=cart_id,
                            cart_token_hash=cart_token_hash)

    def reauthorizable(self, authorization_id: str) -> Order:
        """The open order of a hold that may be reauthorized."""
        auth = self.authorization(authorization_id)
        if auth.status not in REAUTHORIZABLE:
            raise Conflict(f"authorization {authorization_id} is {auth.status}", field="authorization",
                           code="not_reauthorizable")
        return self.open_order(auth.order_id, field="authorization")

    def record_reauthorization(self, ctx: ev.Context, *, authorization: str, new_authorization: str,
                               amount: int, status: str, transaction_id: str, decline_code: str | None,
                               expires_at: datetime | None = None, cart: str | None = None,
                               cart_token_hash: str = "", token: str | None = None,
                               method: HoldMethod = "card") -> ev.Event:
        """Checkout of the cart link (``cart``, when named): approved (a new hold, on ``token``: the card or PayPal
        account, ``method``, the checkout held, by default the old hold's) or failed (manual processing)."""
        found = self.check_reauthorization(authorization=authorization, new_authorization=new_authorization,
                                           amount=amount, cart=cart, cart_token_hash=cart_token_hash)
        if status != "approved":
            return self.trigger(ctx, ev.ReauthorizationFailed, authorization_id=authorization, order_id=found.id,
                                decline_code=decline_code or "declined", cart_id=cart)
        self.check_new_hold(transaction_id)
        return self.trigger(ctx, ev.Reauthorized, authorization_id=authorization,
                            new_authorization_id=new_authorization, order_id=found.id, amount=amount,
                            transaction_id=transaction_id, expires_at=expires_at or ctx.at + AUTHORIZATION_TTL,
                            cart_id=cart, token=token, method=method)

    def check_reauthorization(self, *, authorization: str, new_authorization: str, amount: int,
                              cart: str | None = None, cart_token_hash: str = "") -> Order:
        """Refuse before the gateway is asked: the hold's cart link, when named (:func:`check_cart`), a hold that
        can be reauthorized, a new id, an order with money still due (a cart checked out after the order was paid
        by other means, or once pending payments cover it, is never charged: ``order_paid``, ``pending_payment``),
        the balance due (a cart's checkout holds the cart's amount, no other). A CSR reauthorizing by phone names no
        cart."""
        if cart is not None:
            check_cart(self.state, cart, cart_token_hash, checkout=new_authorization, authorization=authorization)
        found = self.reauthorizable(authorization)
        if new_authorization in self.state.authorizations:
            raise Conflict(f"authorization {new_authorization} already exists", field="new_authorization",
                           code="duplicate_id")
        amount_due.check_not_covered(self.state, "order", found.id, "authorization")
        due = self.checkout_amount(authorization)
        if due == 0:
            raise Conflict(f"order {found.id} has nothing left to pay", field="authorization", code="order_paid")
        others = committed(self.state, found, authorization) - found.paid
        check_hold_amount(self.state, found, amount, reauthorization=True, pending=others)
        if cart is None and others and amount > found.open - others:  # both would be captured: a credit
            raise PolicyViolation(f"more than the balance due on order {found.id} beyond its other holds and "
                                  f"pending payments ({self.state.money(others)}); record a price rise on the "
                                  f"order first", field="amount", code="exceeds_amount_due")
        if cart is not None and amount != due:  # the link's holder approves the cart's amount, no other
            raise PolicyViolation(f"the cart link holds {self.state.money(due)}, not {self.state.money(amount)}",
                                  field="amount", code="cart_mismatch")
        return found

    def checkout_amount(self, authorization: str) -> int:
        """What a checkout of the hold's cart link holds (:func:`ledger.aggregates.carts.checkout_amount`)."""
        return checkout_amount(self.state, self.authorization(authorization), self.reauthorizable(authorization))

    def check_capture(self, ctx: ev.Context, *, authorization: str, amount: int) -> Authorization:
        """Refuse a capture of an expired, used or too small hold."""
        auth = self.authorization(authorization)
        if auth.status == "expired" or (auth.status == "active" and ctx.at >= auth.expires_at):
            raise Expired("the authorization has expired; reauthorize first", field="authorization",
                          code="authorization_expired")
        if auth.status != "active":
            raise Conflict(f"authorization {authorization} is {auth.status}", field="authorization",
                           code="not_capturable")
        if amount > auth.amount:
            raise PolicyViolation("more than was authorized", field="amount", code="exceeds_authorization")
        return auth

    def capture_authorization(self, ctx: ev.Context, *, authorization: str, payment: str, amount: int,
                              transaction_id: str, idempotency_key: str, request_hash: str, method: HoldMethod,
                              overtaken: bool = False) -> ev.Event:
        """Turn the hold into a settled payment by its ``method`` (a PayPal hold is a PayPal payment, issue 14: the
        hold's, or for a hold recorded before holds kept it, what the gateway says its token is) applied
        to its order; ``overtaken``: captured while another
        writer paid the order, recorded all the same (as :meth:`record_payment` does), the excess as credit."""
        auth = self.check_capture(ctx, authorization=authorization, amount=amount)
        instruction = self.capture_instruction(auth, amount)
        try:
            self.check_payment(payment=payment, amount=amount, instruction=instruction)  # before any event
        except LedgerError as error:
            if not (overtaken and error.code in OVERTAKEN):
                raise
        event = self.trigger(ctx, ev.AuthorizationCaptured, authorization_id=authorization,
                             payment_id=payment, amount=amount, transaction_id=transaction_id)
        self.record_payment(ctx, payment=payment, amount=amount, method=method, token=auth.token,
                            transaction_id=transaction_id, status="approved", decline_code=None,
                            idempotency_key=idempotency_key, request_hash=request_hash, instruction=instruction,
                            source=f"authorization:{authorization}", overtaken=overtaken)
        return event

    def capture_instruction(self, auth: Authorization, amount: int) -> Instruction:
        """A capture pays the hold's order, or the invoice the order became (the hold outlives invoicing)."""
        order = self.state.orders.get(auth.order_id)
        if order is not None and order.status == "invoiced":
            for invoice in self.state.invoices.values():
                if invoice.order_id == order.id and not invoice.voided:
                    return Instruction("explicit", (Line("invoice", invoice.id, amount),))
        return Instruction("explicit", (Line("order", auth.order_id, amount),))

    def void_authorization(self, ctx: ev.Context, *, authorization: str, reason: str = "") -> ev.Event:
        """Release a hold that will not be captured; an expired one too (issue 14, seed 004: the CSR clears an
        expired hold off the dashboard by voiding it, its order still unpaid, when it will not be reauthorized)."""
        auth = self.authorization(authorization)
        if auth.status not in (*LIVE_HOLDS, "expired"):
            raise Conflict(f"authorization {authorization} is {auth.status}", field="authorization",
                           code="not_voidable")
        return self.trigger(ctx, ev.AuthorizationVoided, authorization_id=authorization, reason=reason)

    def authorization(self, authorization_id: str) -> Authorization:
        """The authorization, or NotFound."""
        auth = self.state.authorizations.get(authorization_id)
        if auth is None:
            raise NotFound(f"no authorization {authorization_id}", field="authorization")
        return auth

    def expiring_authorizations(self, now: datetime, within: timedelta) -> list[Authorization]:
        """Holds that expire within ``within`` of ``now`` (the CSR dashboard's top panel)."""
        return [a for a in self.state.authorizations.values()
                if a.status in ("active", "reauth_requested") and a.expires_at <= now + within]
