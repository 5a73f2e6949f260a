"""Handlers for orders; a repeated place with the same body is an idempotent no-op."""

from __future__ import annotations

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.state import LIVE_HOLDS
from ledger.commands import messages as m
from ledger.commands.gateway_calls import release
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import amount_of, check_id, check_text, token_hash
from ledger.errors import Conflict, ValidationError
from ledger.money import parse_amount

HANDLERS = HandlerRegistry()
_CHANNELS = ("web", "pos", "phone", "csr", "portal", "api")


#: Most lines an order may carry.
MAX_ITEMS = 500


def items_of(account: Account, cmd: m.PlaceOrder) -> tuple[ev.OrderItem, ...]:
    """The order's lines, validated: a SKU, a description, a quantity from 1, a unit price in the currency."""
    if len(cmd.items) > MAX_ITEMS:
        raise ValidationError(f"an order has at most {MAX_ITEMS} items", field="items")
    lines = []
    for number, item in enumerate(cmd.items):
        where = f"items[{number}]"
        if not 1 <= item.quantity <= 1_000_000:
            raise ValidationError("quantity must be from 1 to 1000000", field=f"{where}.quantity")
        lines.append(ev.OrderItem(sku=check_id(item.sku, f"{where}.sku"),
                                  description=check_text(item.description, f"{where}.description", 200),
                                  quantity=item.quantity,
                                  unit_price=parse_amount(item.unit_price, account.state.currency,
                                                          f"{where}.unit_price", allow_zero=True)))
    return tuple(lines)


@HANDLERS.on(m.PlaceOrder)
def place_order(unit: Unit, cmd: m.PlaceOrder) -> m.Outcome:
    account = unit.account(cmd.account)
    order_id = check_id(cmd.order, "order")
    amount = amount_of(account, cmd.amount, allow_zero=True)  # seed 004: a zero dollar price quote
    if cmd.channel not in _CHANNELS:
        raise ValidationError(f"channel must be one of {', '.join(_CHANNELS)}", field="channel")
    existing = account.state.orders.get(order_id)
    if existing is not None:
        if (existing.amount, existing.channel, existing.description) == (amount, cmd.channel, cmd.description):
            return replayed(cmd.account, order_id)
        raise Conflict(f"order {order_id} already exists", field="order", code="duplicate_id")
    account.place_order(unit.ctx, order=order_id, amount=amount, channel=cmd.channel,
                        description=check_text(cmd.description, "description"), items=items_of(account, cmd))
    return recorded(unit, cmd.account, order_id)


@HANDLERS.on(m.RequestCart)
def request_cart(unit: Unit, cmd: m.RequestCart) -> m.Outcome:
    """Email the cart link for an order with no hold yet; sending it again sends a new link."""
    account = unit.account(cmd.account)
    cart_id = unit.ports.ids.new_id("CART")
    raw = unit.ports.tokens.issue("cart", cmd.account, cart_id)
    account.request_cart(unit.ctx, order=cmd.order, cart_id=cart_id, cart_token_hash=token_hash(raw))
    return recorded(unit, cmd.account, cart_id, status="cart_sent")


@HANDLERS.on(m.ChangeOrderPrice)
def change_order_price(unit: Unit, cmd: m.ChangeOrderPrice) -> m.Outcome:
    account = unit.account(cmd.account)
    account.change_order_price(unit.ctx, order=cmd.order, new_amount=amount_of(account, cmd.amount, allow_zero=True))
    return recorded(unit, cmd.account, cmd.order)


@HANDLERS.on(m.CancelOrder)
def cancel_order(unit: Unit, cmd: m.CancelOrder) -> m.Outcome:
    """Cancel an order and void its live holds: decided in the ledger first, then released at the gateway (a
    hold the gateway refuses to void refuses the cancel, nothing written)."""
    account = unit.account(cmd.account)
    order = account.state.orders.get(cmd.order)
    if order is not None and order.status == "cancelled":
        return replayed(cmd.account, cmd.order)
    holds = [a for a in account.state.authorizations.values() if a.order_id == cmd.order and a.status in LIVE_HOLDS]
    for auth in holds:
        account.void_authorization(unit.ctx, authorization=auth.id, reason="order cancelled")
    account.cancel_order(unit.ctx, order=cmd.order, reason=check_text(cmd.reason, "reason"))
    for auth in holds:  # decided (an order no longer open is refused before the gateway is asked): release them
        release(unit, auth)
    return recorded(unit, cmd.account, cmd.order)


@HANDLERS.on(m.ReplaceOrder)
def replace_order(unit: Unit, cmd: m.ReplaceOrder) -> m.Outcome:
    account = unit.account(cmd.account)
    old = account.state.orders.get(cmd.order)
    if old is not None and old.replaced_by == cmd.new_order:
        return replayed(cmd.account, cmd.new_order)
    account.replace_order(unit.ctx, order=cmd.order, new_order=check_id(cmd.new_order, "new_order"),
                          amount=amount_of(account, cmd.amount))
    return recorded(unit, cmd.account, cmd.new_order)
