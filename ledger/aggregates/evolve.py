"""How each event changes an Account's state: state changes only, no rules (rules live in the decisions).

"Decide, then record" (STYLE.md): a rule written here would be re-checked against old history on every replay,
so these functions never refuse anything.
"""

from __future__ import annotations

from functools import singledispatch

from ledger.aggregates import events as ev
from ledger.aggregates.idempotency import remember, request_fingerprint
from ledger.aggregates.state import (
    LIVE_HOLDS,
    AccountState,
    Application,
    Authorization,
    Credit,
    Invitation,
    Invoice,
    Order,
    Payment,
    SavedMethod,
)


def opened(event: ev.AccountOpened) -> AccountState:
    """The state of a newly opened account."""
    return AccountState(
        account_id=event.account_id,
        currency=event.currency,
        email=event.email,
        name=event.name,
        opened_at=event.timestamp,
    )


def deposit_reference(event: ev.PaymentDeposited) -> str:
    """How a deposit credit is described: "parts deposit of payment DEP" (seed 000's purposes)."""
    purpose = f"{event.purpose.replace('_', ' ')} " if event.purpose else ""
    return f"{purpose}deposit of payment {event.payment_id}"


@singledispatch
def evolve(event: ev.Event, state: AccountState) -> None:
    """Apply ``event`` to ``state`` in place."""
    raise TypeError(f"no state change defined for {type(event).__name__}")


def _target_paid(state: AccountState, kind: str, target_id: str, delta: int) -> None:
    if kind == "invoice":
        state.invoices[target_id].paid += delta
    else:
        state.orders[target_id].paid += delta


def _remove_application(state: AccountState, source_kind: str, source_id: str, kind: str, target_id: str,
                        amount: int, with_payment: str | None = None) -> None:
    left = amount
    wanted = (source_kind, source_id, kind, target_id, with_payment)
    for app in reversed(state.applications):
        if left == 0:
            break
        if (app.source_kind, app.source_id, app.target_kind, app.target_id, app.with_payment) == wanted:
            take = min(left, app.amount)
            app.amount -= take
            left -= take
    state.applications = [app for app in state.applications if app.amount > 0]


@evolve.register
def _(event: ev.InvitationSent, state: AccountState) -> None:
    state.invitation = Invitation(event.invitation_id, event.email, event.token_hash, event.timestamp,
                                  event.expires_at)


@evolve.register
def _(event: ev.InvitationResent, state: AccountState) -> None:
    assert state.invitation is not None
    state.invitation.token_hash = event.token_hash
    state.invitation.expires_at = event.expires_at
    state.invitation.sent_at = event.timestamp
    state.invitation.status = "pending"
    state.invitation.resent += 1


@evolve.register
def _(event: ev.InvitationAccepted, state: AccountState) -> None:
    assert state.invitation is not None
    state.invitation.status = "accepted"


@evolve.register
def _(event: ev.InvitationExpired, state: AccountState) -> None:
    assert state.invitation is not None
    state.invitation.status = "expired"


@evolve.register
def _(event: ev.OrderPlaced, state: AccountState) -> None:
    state.orders[event.order_id] = Order(event.order_id, event.amount, event.timestamp, event.channel,
                                         event.description)


@evolve.register
def _(event: ev.OrderPriceChanged, state: AccountState) -> None:
    state.orders[event.order_id].amount = event.new_amount


@evolve.register
def _(event: ev.OrderCancelled, state: AccountState) -> None:
    state.orders[event.order_id].status = "cancelled"


@evolve.register
def _(event: ev.OrderReplaced, state: AccountState) -> None:
    old = state.orders[event.old_order_id]
    old.status = "replaced"
    old.replaced_by = event.new_order_id
    state.orders[event.new_order_id] = Order(event.new_order_id, event.amount, event.timestamp, old.channel,
                                             old.description, replaces=old.id)
    for auth in state.authorizations.values():
        if auth.order_id == old.id and auth.status in LIVE_HOLDS:
            auth.order_id = event.new_order_id


@evolve.register
def _(event: ev.InvoiceIssued, state: AccountState) -> None:
    state.invoice_sequence += 1
    state.invoices[event.invoice_id] = Invoice(event.invoice_id, event.total, event.issued_on, event.due_on,
                                               state.invoice_sequence, event.order_id)
    if event.order_id is not None and event.order_id in state.orders:
        state.orders[event.order_id].status = "invoiced"


@evolve.register
def _(event: ev.InvoiceAdjusted, state: AccountState) -> None:
    state.invoices[event.invoice_id].total = event.new_total


@evolve.register
def _(event: ev.InvoiceVoided, state: AccountState) -> None:
    state.invoices[event.invoice_id].voided = True


@evolve.register
def _(event: ev.PaymentSubmitted, state: AccountState) -> None:
    state.payments[event.payment_id] = Payment(
        id=event.payment_id, amount=event.amount, method=event.method, token=event.token,
        transaction_id=event.transaction_id, submitted_at=event.timestamp, idempotency_key=event.idempotency_key,
        request_hash=event.request_hash, instruction=event.instruction, source=event.source,
    )
    remember(state, event.idempotency_key, event.request_hash, event.payment_id)
    state.pending_payments.append(event.payment_id)


def _not_pending(state: AccountState, payment_id: str) -> None:
    if payment_id in state.pending_payments:
        state.pending_payments.remove(payment_id)


@evolve.register
def _(event: ev.PaymentSettled, state: AccountState) -> None:
    payment = state.payments[event.payment_id]
    payment.status = "settled"
    payment.settled_at = event.timestamp
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentDeclined, state: AccountState) -> None:
    payment = state.payments[event.payment_id]
    payment.status = "declined"
    payment.decline_code = event.decline_code
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentReturned, state: AccountState) -> None:
    state.payments[event.payment_id].status = "returned"
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentRefunded, state: AccountState) -> None:
    state.payments[event.payment_id].refunded += event.amount
    remember(state, event.idempotency_key, request_fingerprint("refund", event.payment_id, event.amount),
             event.refund_transaction_id)


@evolve.register
def _(event: ev.PaymentApplied, state: AccountState) -> None:
    state.payments[event.payment_id].applied += event.amount
    _target_paid(state, event.target_kind, event.target_id, event.amount)
    state.applications.append(Application("payment", event.payment_id, event.target_kind, event.target_id,
                                          event.amount))


@evolve.register
def _(event: ev.PaymentUnapplied, state: AccountState) -> None:
    state.payments[event.payment_id].applied -= event.amount
    _target_paid(state, event.target_kind, event.target_id, -event.amount)
    _remove_application(state, "payment", event.payment_id, event.target_kind, event.target_id, event.amount)


@evolve.register
def _(event: ev.PaymentDeposited, state: AccountState) -> None:
    state.payments[event.payment_id].credited += event.amount
    state.credit_sequence += 1
    state.credits[event.credit_id] = Credit(event.credit_id, event.amount, event.amount, "deposit",
                                            deposit_reference(event), event.timestamp, state.credit_sequence,
                                            event.payment_id, event.purpose)


@evolve.register
def _(event: ev.CreditIssued, state: AccountState) -> None:
    state.credit_sequence += 1
    state.credits[event.credit_id] = Credit(event.credit_id, event.amount, event.amount, event.kind,
                                            event.reference, event.timestamp, state.credit_sequence,
                                            event.payment_id)
    if event.payment_id is not None:
        state.payments[event.payment_id].credited += event.amount


@evolve.register
def _(event: ev.CreditApplied, state: AccountState) -> None:
    state.credits[event.credit_id].remaining -= event.amount
    _target_paid(state, event.target_kind, event.target_id, event.amount)
    state.applications.append(Application("credit", event.credit_id, event.target_kind, event.target_id,
                                          event.amount, event.with_payment))


@evolve.register
def _(event: ev.CreditUnapplied, state: AccountState) -> None:
    state.credits[event.credit_id].remaining += event.amount
    _target_paid(state, event.target_kind, event.target_id, -event.amount)
    _remove_application(state, "credit", event.credit_id, event.target_kind, event.target_id, event.amount,
                        event.with_payment)


@evolve.register
def _(event: ev.CreditReversed, state: AccountState) -> None:
    credit = state.credits[event.credit_id]
    credit.remaining -= event.amount
    credit.amount -= event.amount
    if credit.payment_id is not None:
        state.payments[credit.payment_id].credited -= event.amount


@evolve.register
def _(event: ev.CreditRefunded, state: AccountState) -> None:
    state.credits[event.credit_id].remaining -= event.amount
    remember(state, event.idempotency_key, request_fingerprint("credit-refund", event.credit_id, event.amount),
             event.refund_transaction_id)


@evolve.register
def _(event: ev.CardAuthorized, state: AccountState) -> None:
    order = state.orders.get(event.order_id)
    state.authorizations[event.authorization_id] = Authorization(
        event.authorization_id, event.order_id, event.amount, event.token, event.transaction_id,
        event.timestamp, event.expires_at, order_price=order.amount if order is not None else None)


@evolve.register
def _(event: ev.AuthorizationExpired, state: AccountState) -> None:
    auth = state.authorizations[event.authorization_id]
    auth.status = "expired"
    auth.expired = True


@evolve.register
def _(event: ev.ReauthorizationRequested, state: AccountState) -> None:
    auth = state.authorizations[event.authorization_id]
    auth.status = "reauth_requested"
    auth.requested_amount = event.new_amount
    auth.cart_id = event.cart_id
    order = state.orders.get(event.order_id)
    if order is not None:
        auth.cart_order, auth.cart_price, auth.cart_paid = order.id, order.amount, order.paid


@evolve.register
def _(event: ev.Reauthorized, state: AccountState) -> None:
    old = state.authorizations[event.authorization_id]
    old.status = "reauthorized"
    old.replaced_by = event.new_authorization_id
    order = state.orders[event.order_id]
    state.authorizations[event.new_authorization_id] = Authorization(
        event.new_authorization_id, event.order_id, event.amount, old.token, event.transaction_id,
        event.timestamp, event.expires_at, order_price=order.amount)
    order.manual_processing = False  # a failed reauthorization was resolved


@evolve.register
def _(event: ev.ReauthorizationFailed, state: AccountState) -> None:
    state.authorizations[event.authorization_id].status = "failed"
    state.orders[event.order_id].manual_processing = True


@evolve.register
def _(event: ev.AuthorizationCaptured, state: AccountState) -> None:
    state.authorizations[event.authorization_id].status = "captured"


@evolve.register
def _(event: ev.AuthorizationVoided, state: AccountState) -> None:
    state.authorizations[event.authorization_id].status = "voided"


@evolve.register
def _(event: ev.PaymentMethodAdded, state: AccountState) -> None:
    state.methods[event.method_id] = SavedMethod(event.method_id, event.kind, event.token, event.brand,
                                                 event.last4, event.exp_month, event.exp_year)


@evolve.register
def _(event: ev.PaymentMethodRemoved, state: AccountState) -> None:
    del state.methods[event.method_id]
    if state.default_method == event.method_id:
        state.default_method = None


@evolve.register
def _(event: ev.DefaultPaymentMethodSet, state: AccountState) -> None:
    state.default_method = event.method_id


@evolve.register
def _(event: ev.AutopayEnabled, state: AccountState) -> None:
    state.autopay_method = event.method_id


@evolve.register
def _(event: ev.AutopayDisabled, state: AccountState) -> None:
    state.autopay_method = None


@evolve.register
def _(event: ev.AutopayFailed, state: AccountState) -> None:
    state.invoices[event.invoice_id].autopay_failed = event.reason


@evolve.register
def _(event: ev.CartRequested, state: AccountState) -> None:
    """A cart link changes no balance; the email worker sends it."""


@evolve.register
def _(event: ev.StatementSent, state: AccountState) -> None:
    """Statements change no balance; they are kept for the audit trail and the email worker."""
