"""Decisions about orders (seeds 000, 004).

Orders come from any channel; a price rise on a card order asks for reauthorization; a replaced order is
cancelled and linked to its successor, its money moving along.
"""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.aggregates.credits import CreditDecisions
from ledger.errors import Conflict, PolicyViolation


class OrderDecisions(CreditDecisions):
    def place_order(self, ctx: ev.Context, *, order_id: str, amount: int, channel: str = "web",
                    description: str = "") -> ev.OrderPlaced:
        """Record an order from the web, POS, phone or a CSR."""
        if order_id in self.state.orders:
            raise Conflict(f"order {order_id} already exists", field="order_id", code="duplicate_id")
        return self.trigger(ctx, ev.OrderPlaced, order_id=order_id, amount=amount, channel=channel,
                            description=description)

    def change_order_price(self, ctx: ev.Context, *, order_id: str, new_amount: int) -> ev.OrderPriceChanged:
        """Change an open order's price; a rise above a card hold needs reauthorization (seed 004)."""
        order = self.open_order(order_id)
        if new_amount < order.paid:
            raise PolicyViolation("the new price is below what was already paid", field="amount",
                                  code="below_paid")
        if new_amount == order.amount:
            raise Conflict("the order already has this price", field="amount", code="no_change")
        return self.trigger(ctx, ev.OrderPriceChanged, order_id=order_id, old_amount=order.amount,
                            new_amount=new_amount)

    def cancel_order(self, ctx: ev.Context, *, order_id: str, reason: str = "") -> ev.OrderCancelled:
        """Cancel an open order; money already applied to it becomes customer credit."""
        self.open_order(order_id)
        self.release_target(ctx, "order", order_id, reason="order cancelled", into=None)
        return self.trigger(ctx, ev.OrderCancelled, order_id=order_id, reason=reason)

    def replace_order(self, ctx: ev.Context, *, old_order_id: str, new_order_id: str,
                      amount: int) -> ev.OrderReplaced:
        """Cancel ``old_order_id``, create ``new_order_id`` linked to it, and move its payments over (seed 004)."""
        old = self.open_order(old_order_id, field="old_order_id")
        if new_order_id in self.state.orders:
            raise Conflict(f"order {new_order_id} already exists", field="new_order_id", code="duplicate_id")
        if amount < old.paid:
            raise PolicyViolation("the new order is below what was already paid", field="amount",
                                  code="below_paid")
        moved = self.release_target(ctx, "order", old_order_id, reason="order replaced", into=new_order_id)
        event = self.trigger(ctx, ev.OrderReplaced, old_order_id=old_order_id, new_order_id=new_order_id,
                             amount=amount)
        for app in moved:
            self.reapply(ctx, app, "order", new_order_id)
        return event
