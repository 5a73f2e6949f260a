"""Commands of orders: placing, repricing, cancelling and replacing an order, the cart link (seed 004)."""

from __future__ import annotations

import msgspec

from ledger.commands.messages.base import AccountCommand


class OrderItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A line of an order: ``unit_price`` is a decimal string like every amount."""

    sku: str
    description: str = ""
    quantity: int
    unit_price: str


class PlaceOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    amount: str
    channel: str = "web"
    description: str = ""
    items: list[OrderItemIn] = msgspec.field(default_factory=list)


class ChangeOrderPrice(AccountCommand, frozen=True, kw_only=True):
    order: str
    amount: str


class RequestCart(AccountCommand, frozen=True, kw_only=True):
    """Send the "Approve Order Payment" cart link for an order with no hold yet (seed 004)."""

    order: str


class CancelOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    reason: str = ""


class ReplaceOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    new_order: str
    amount: str
