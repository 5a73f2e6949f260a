"""How each event changes an Account's state: state changes only, no rules (rules live in the decisions).

"Decide, then record" (STYLE.md): a rule written here would be re-checked against old history on every replay,
so these functions never refuse anything.

The changes of invitations, orders, invoices and saved methods are here; payments and credits register theirs
in :mod:`ledger.aggregates.evolve_payments`, authorizations in :mod:`ledger.aggregates.evolve_authorizations`,
all on the one function of :mod:`ledger.aggregates.evolve_dispatch`. Import ``evolve`` from here: this module
imports every area, so the function it gives knows every event.
"""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.aggregates import evolve_authorizations, evolve_payments  # noqa: F401  (they register their areas' changes)
from ledger.aggregates.carts import cart_sent
from ledger.aggregates.evolve_dispatch import evolve
from ledger.aggregates.state import (
    LIVE_HOLDS,
    AccountState,
    Cart,
    Invitation,
    Invoice,
    Order,
    SavedMethod,
)

__all__ = ["evolve", "opened"]


def opened(event: ev.AccountOpened) -> AccountState:
    """The state of a newly opened account."""
    return AccountState(
        account_id=event.account_id,
        currency=event.currency,
        email=event.email,
        name=event.name,
        opened_at=event.timestamp,
    )


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
def _(event: ev.PasswordChanged | ev.PasswordResetRequested | ev.PersonalDataForgotten, state: AccountState) -> None:
    """Portal password facts and an erasure change no state: the audit log keeps them (a forgotten account's
    email and name read erased because its keys are gone, not because of its state)."""


@evolve.register
def _(event: ev.AutopayFailed, state: AccountState) -> None:
    state.invoices[event.invoice_id].autopay_failed = event.reason


@evolve.register
def _(event: ev.CartRequested, state: AccountState) -> None:
    """A cart link changes no balance (the email worker sends it); the state keeps it for its checkout."""
    cart_sent(state, Cart(event.cart_id, event.order_id, event.amount, event.cart_token_hash, event.timestamp))


@evolve.register
def _(event: ev.StatementSent, state: AccountState) -> None:
    """Statements change no balance; they are kept for the audit trail and the email worker."""
