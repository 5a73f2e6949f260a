"""How authorizations (holds on a card or PayPal, seed 004) change an Account's state: authorized, expired,
reauthorization requested, reauthorized or failed, captured, voided. State changes only, no rules (see
:mod:`ledger.aggregates.evolve`).
"""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.aggregates.carts import cart_sent, cart_used, committed
from ledger.aggregates.evolve_dispatch import evolve
from ledger.aggregates.state import AccountState, Authorization, Cart


@evolve.register
def _(event: ev.CardAuthorized, state: AccountState) -> None:
    order = state.orders.get(event.order_id)
    state.authorizations[event.authorization_id] = Authorization(
        event.authorization_id, event.order_id, event.amount, event.token, event.transaction_id,
        event.timestamp, event.expires_at, order_price=order.amount if order is not None else None,
        method=event.method)
    cart_used(state, event.cart_id, event.authorization_id)
    if order is not None:  # a card held for the order: a declined cart or reauthorization is resolved (by the
        order.manual_processing = False  # customer's link with another card, or a CSR by phone)


@evolve.register
def _(event: ev.CardAuthorizationFailed, state: AccountState) -> None:
    state.orders[event.order_id].manual_processing = True
    if (cart := state.carts.get(event.cart_id)) is not None:
        cart.declined_for = event.authorization_id


@evolve.register
def _(event: ev.AuthorizationExpired, state: AccountState) -> None:
    """A hold whose cart link went out before its expiry was recorded stays ``reauth_requested``: the cart is
    awaited (issue 14); the hold keeps that it expired."""
    auth = state.authorizations[event.authorization_id]
    if auth.status != "reauth_requested":
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
        auth.cart_order, auth.cart_price = order.id, order.amount
        auth.cart_covered = committed(state, order, auth.id)
    cart_sent(state, Cart(event.cart_id, event.order_id, event.new_amount, event.cart_token_hash, event.timestamp,
                          authorization_id=event.authorization_id))


@evolve.register
def _(event: ev.Reauthorized, state: AccountState) -> None:
    old = state.authorizations[event.authorization_id]
    old.status = "reauthorized"
    old.replaced_by = event.new_authorization_id
    order = state.orders[event.order_id]
    state.authorizations[event.new_authorization_id] = Authorization(
        event.new_authorization_id, event.order_id, event.amount, event.token or old.token, event.transaction_id,
        event.timestamp, event.expires_at, order_price=order.amount, method=event.method)
    order.manual_processing = False  # a failed reauthorization was resolved
    cart_used(state, event.cart_id, event.new_authorization_id)


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

