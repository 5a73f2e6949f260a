"""Cart links, "Approve Order Payment" (seed 004): what the state keeps of each, and the check a checkout passes.

A cart is sent for a hold to reauthorize (``ReauthorizationRequested``) or for an order's first hold
(``CartRequested``). A newer cart for the same hold or order replaces the older ones; a checkout that names the
cart uses it. Only the hash of a link's token is kept: a checkout presents the hash of the token it holds, compared
in constant time. A cart whose order was paid, cancelled or replaced, or whose hold was released or placed another
way, reads as ``closed``; its checkout is refused by the hold's and order's own checks (``order_paid``, ...).
State changes here never refuse (they run on every replay); :func:`check_cart` is the decision.
"""

from __future__ import annotations

import hmac

from ledger.aggregates.amount_due import held_for
from ledger.aggregates.state import LIVE_HOLDS, AccountState, Authorization, Cart, Order
from ledger.errors import Conflict, PolicyViolation

#: Hold statuses a cart link may reauthorize from.
REAUTHORIZABLE = ("active", "expired", "reauth_requested", "failed")


def cart_sent(state: AccountState, cart: Cart) -> None:
    """Keep a newly sent cart; the open carts for the same order or hold are replaced by it."""
    for older in state.carts.values():
        if older.status == "open" and (older.order_id == cart.order_id or (
                cart.authorization_id is not None and older.authorization_id == cart.authorization_id)):
            older.status = "replaced"
    state.carts[cart.id] = cart


def cart_used(state: AccountState, cart_id: str | None, hold: str) -> None:
    """The cart whose checkout placed ``hold`` is used (an event from before checkouts named their cart: none)."""
    cart = state.carts.get(cart_id) if cart_id is not None else None
    if cart is not None:
        cart.status, cart.used_for = "used", hold


def cart_order(state: AccountState, cart: Cart) -> tuple[Order | None, Authorization | None]:
    """The order a cart's checkout would hold money for now (a hold follows its order when it is replaced), and
    the cart's hold."""
    if cart.authorization_id is None:
        return state.orders.get(cart.order_id), None
    auth = state.authorizations.get(cart.authorization_id)
    return (state.orders.get(auth.order_id) if auth is not None else None), auth


def cart_status(state: AccountState, cart: Cart) -> str:
    """open, used, replaced, or closed: an open cart that can no longer be checked out (its order is not open or
    has nothing due once pending payments are counted; its hold is not reauthorizable; a first cart's order has a
    live hold already)."""
    if cart.status != "open":
        return cart.status
    order, auth = cart_order(state, cart)
    if cart.authorization_id is None:
        live = not any(a.order_id == cart.order_id and a.status in LIVE_HOLDS for a in state.authorizations.values())
    else:
        live = auth is not None and auth.status in REAUTHORIZABLE
    return "open" if live and order is not None and order_due(state, order, cart.authorization_id) > 0 else "closed"


def committed(state: AccountState, order: Order, hold: str | None = None) -> int:
    """What is paid on ``order``, what the pending payments on it will pay and what its other holds (active or
    waiting on their cart; not ``hold``) hold: money a cart never holds again (issue 14). A hold past its 29 days
    whose expiry is not recorded yet counts: a cart then holds less, never more."""
    return order.paid + state.pending_for("order", order.id) + held_for(state, order.id, other_than=hold)


def order_due(state: AccountState, order: Order, hold: str | None = None) -> int:
    """An order's balance due less what pending payments and its other holds will pay (:func:`committed`, issue
    14): what a cart, or the reauthorization of ``hold``, holds at least."""
    return max(order.open - (committed(state, order, hold) - order.paid), 0)


def checkout_amount(state: AccountState, auth: Authorization, order: Order) -> int:
    """What a checkout of hold ``auth``'s cart link holds on its (open) ``order``: the cart's amount while the order
    is as it was when the link was sent; once the order was repriced, replaced or paid since, what is still due on
    the price the cart stood for (the order's new price, or the unrecorded price the cart was sent for) (issue 14).
    What pending payments and the order's other holds will pay is never held (:func:`committed`): with 40.00 of
    ACH pending on a 120.00 order, the cart holds 80.00, and no more once the ACH settles."""
    due = order_due(state, order, auth.id)
    if auth.requested_amount is None:
        return due
    if auth.cart_price is None or auth.cart_covered is None:  # a cart sent before carts kept their order
        return max(auth.requested_amount - (committed(state, order, auth.id) - order.paid), due)
    if (auth.cart_order, auth.cart_price) == (order.id, order.amount):
        price = auth.cart_covered + auth.requested_amount
    else:
        price = order.amount
    return max(price - committed(state, order, auth.id), due, 0)


def cart_amount(state: AccountState, cart: Cart) -> int:
    """What the ledger holds when ``cart`` is checked out now: its hold's :func:`checkout_amount` (the newest cart
    of a hold), an order's balance due less its pending payments for its first hold; 0 once it can no longer be
    checked out."""
    order, auth = cart_order(state, cart)
    if cart_status(state, cart) != "open" or order is None:
        return 0
    return checkout_amount(state, auth, order) if auth is not None else order_due(state, order)


def check_cart(state: AccountState, cart_id: str, token_hash: str, *, checkout: str,
               authorization: str | None = None, order: str | None = None) -> Cart:
    """Refuse a checkout of cart ``cart_id`` unless ``token_hash`` is its link token's hash (an unknown cart
    answers the same: ``cart_token_invalid``), it is the cart of this hold (``authorization``) or of this order's
    first hold (``order``) (``cart_mismatch``), no newer cart replaced it (``cart_replaced``), and no other
    checkout used it (``cart_used``; the checkout that placed hold ``checkout`` passes again: a replay)."""
    cart = state.carts.get(cart_id)
    if cart is None or not hmac.compare_digest(cart.token_hash.encode(), token_hash.encode()):
        raise PolicyViolation("this cart link is not valid", field="cart_token", code="cart_token_invalid")
    if (cart.authorization_id, cart.order_id if authorization is None else None) != (authorization, order):
        raise Conflict(f"cart {cart_id} is for another {'hold' if authorization else 'order'}", field="cart",
                       code="cart_mismatch")
    if cart.status == "replaced":
        raise Conflict(f"cart {cart_id} was replaced by a newer cart link", field="cart", code="cart_replaced")
    if cart.status == "used" and cart.used_for != checkout:
        raise Conflict(f"cart {cart_id} was already checked out", field="cart", code="cart_used")
    return cart
