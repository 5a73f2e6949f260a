"""Events of orders (seeds 000, 004)."""

from __future__ import annotations

import msgspec

from ledger.aggregates.events.base import Event, Minor


class OrderEvent(Event, frozen=True, kw_only=True):
    area = "orders"


class OrderItem(msgspec.Struct, frozen=True, kw_only=True):
    """A line of an order (seed 001's order history shows an order's first three items)."""

    sku: str
    description: str = ""
    quantity: int
    unit_price: Minor


class OrderPlaced(OrderEvent, frozen=True, kw_only=True):
    """An order from any channel (web, POS, phone); its balance due can be paid like an invoice's.

    Version 2 carries the order's ``items``; orders of version 1 are read with none."""

    class_version = 2
    order_id: str
    amount: Minor
    channel: str = "web"
    description: str = ""
    items: tuple[OrderItem, ...] = ()


class OrderPriceChanged(OrderEvent, frozen=True, kw_only=True):
    order_id: str
    old_amount: Minor
    new_amount: Minor


class OrderCancelled(OrderEvent, frozen=True, kw_only=True):
    order_id: str
    reason: str = ""


class CartRequested(OrderEvent, frozen=True, kw_only=True):
    """The "Approve Order Payment" cart link was sent for an order with no card hold yet (a 0.00 quote whose real
    price is now known, seed 004); its checkout places the first hold. Only the link token's hash is kept."""

    order_id: str
    amount: Minor
    cart_id: str
    cart_token_hash: str


class OrderReplaced(OrderEvent, frozen=True, kw_only=True):
    """A price rise checked out: the old order is cancelled, the new one created and linked (seed 004)."""

    old_order_id: str
    new_order_id: str
    amount: Minor
