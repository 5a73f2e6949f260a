"""Decisions about orders (seeds 000, 004).

Orders come from any channel; a price rise on a card order asks for reauthorization; a replaced order is
cancelled and linked to its successor, its money moving along.
"""

from __future__ import annotations

from ledger.aggregates import amount_due
from ledger.aggregates import events as ev
from ledger.aggregates.carts import committed, order_due
from ledger.aggregates.credits import CreditDecisions
from ledger.aggregates.limits import check_amount, check_owed
from ledger.aggregates.state import LIVE_HOLDS, AccountState
from ledger.errors import Conflict, PolicyViolation


def price_after_reauthorization(state: AccountState, event: ev.Reauthorized) -> int | None:
    """Seed 004: "If the price on the original quote or order has gone up, once the customer checks out
    authorizing the increased amount, the old order will be canceled and the new order will be created": the
    new order's price, or None when the order stays (an expired hold renewed at the same price, a price that fell).

    ``state`` is the account as it was at the reauthorization. The price has gone up when the order was repriced
    above its price when the old hold was placed, or when the customer approved more than the order's price (a
    cart sent for a new amount not yet recorded on the order). The new price is what was paid on the old order
    and what pending payments and its other holds will pay on it, plus the new hold, which covers at least the
    balance due less those (issue 14): the price the customer approved at checkout.
    """
    order = state.orders.get(event.order_id)
    old = state.authorizations.get(event.authorization_id)
    if order is None or old is None:
        return None
    approved = committed(state, order, event.new_authorization_id) + event.amount
    repriced_up = old.order_price is not None and order.amount > old.order_price
    if not (repriced_up or approved > order.amount):
        return None
    return max(approved, order.amount)


class OrderDecisions(CreditDecisions):
    def place_order(self, ctx: ev.Context, *, order: str, amount: int, channel: str = "web",
                    description: str = "", items: tuple[ev.OrderItem, ...] = ()) -> ev.OrderPlaced:
        """Record an order from the web, POS, phone or a CSR, with its line items."""
        if order in self.state.orders:
            raise Conflict(f"order {order} already exists", field="order", code="duplicate_id")
        check_amount(amount, self.state.currency)
        check_owed(self.state, amount)
        return self.trigger(ctx, ev.OrderPlaced, order_id=order, amount=amount, channel=channel,
                            description=description, items=items)

    def change_order_price(self, ctx: ev.Context, *, order: str, new_amount: int) -> ev.OrderPriceChanged:
        """Change an open order's price; a rise above a card hold needs reauthorization (seed 004)."""
        found = self.open_order(order)
        if new_amount < found.paid:
            raise PolicyViolation("the new price is below what was already paid", field="amount",
                                  code="below_paid")
        if new_amount == found.amount:
            raise Conflict("the order already has this price", field="amount", code="no_change")
        check_amount(new_amount, self.state.currency)
        check_owed(self.state, new_amount - found.amount)
        return self.trigger(ctx, ev.OrderPriceChanged, order_id=order, old_amount=found.amount,
                            new_amount=new_amount)

    def request_cart(self, ctx: ev.Context, *, order: str, cart_id: str, cart_token_hash: str) -> ev.CartRequested:
        """Send the cart link for an open order's balance due (less what pending payments on it will pay, issue 14)
        when it has no live hold (seed 004: "EVERY time
        you have a zero dollar price quote") and pending payments do not cover it (``pending_payment``); a hold's
        cart is sent again with ``request_reauthorization``."""
        found = self.open_order(order, field="order")
        if found.open == 0:
            raise PolicyViolation(f"order {order} has nothing due", field="order", code="nothing_due")
        amount_due.check_not_covered(self.state, "order", order, "order")
        for auth in self.state.authorizations.values():
            if auth.order_id == order and auth.status in LIVE_HOLDS:
                raise Conflict(f"order {order} has hold {auth.id}: send its cart (auth request-reauth)",
                               field="order", code="authorization_exists")
        return self.trigger(ctx, ev.CartRequested, order_id=order, amount=order_due(self.state, found), cart_id=cart_id,
                            cart_token_hash=cart_token_hash)

    def cancel_order(self, ctx: ev.Context, *, order: str, reason: str = "") -> ev.OrderCancelled:
        """Cancel an open order; money already applied to it becomes customer credit."""
        self.open_order(order)
        self.release_target(ctx, "order", order, reason="order cancelled", into=None)
        return self.trigger(ctx, ev.OrderCancelled, order_id=order, reason=reason)

    def replace_order(self, ctx: ev.Context, *, order: str, new_order: str,
                      amount: int) -> ev.OrderReplaced:
        """Cancel ``old_order_id``, create ``new_order_id`` linked to it, and move its payments over (seed 004)."""
        old = self.open_order(order, field="order")
        if new_order in self.state.orders:
            raise Conflict(f"order {new_order} already exists", field="new_order", code="duplicate_id")
        if amount < old.paid:
            raise PolicyViolation("the new order is below what was already paid", field="amount",
                                  code="below_paid")
        check_amount(amount, self.state.currency)
        check_owed(self.state, amount - old.amount)
        moved = self.release_target(ctx, "order", order, reason="order replaced", into=new_order)
        event = self.trigger(ctx, ev.OrderReplaced, old_order_id=order, new_order_id=new_order,
                             amount=amount)
        for app in moved:
            self.reapply(ctx, app, "order", new_order)
        return event
