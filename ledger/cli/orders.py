"""CLI commands for orders: place, reprice, cancel, replace."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def order() -> None:
    """Orders from any channel: place, reprice, cancel, replace."""


@order.command("place")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--amount", required=True, help="The price, a decimal.")
@click.option("--channel", default="web", show_default=True, help="web, pos, phone, csr, portal, api")
@click.option("--description", default="", help="What was ordered.")
@click.option("--item", "items", multiple=True, metavar="SKU:QTY:UNIT_PRICE[:DESCRIPTION]",
              help="A line of the order (repeat for each).")
@pass_state
def order_place(state: CliState, account_id: str, order_id: str, amount: str, channel: str,
                description: str, items: tuple[str, ...]) -> None:
    """Record ORDER on ACCOUNT, with its line items."""
    lines = [item_of(text) for text in items]
    state.run(lambda a: m.PlaceOrder(account=account_id, order=order_id, amount=amount, channel=channel,
                                     description=description, items=lines, actor=a))


def item_of(text: str) -> m.OrderItemIn:
    """``SKU:QTY:UNIT_PRICE[:DESCRIPTION]`` as an order line."""
    parts = text.split(":", 3)
    if len(parts) < 3 or not parts[0] or not parts[1].isdigit() or not parts[2]:
        raise click.BadParameter("give SKU:QTY:UNIT_PRICE[:DESCRIPTION], e.g. TSHIRT-M:2:12.50:T-shirt",
                                 param_hint="--item")
    return m.OrderItemIn(sku=parts[0], quantity=int(parts[1]), unit_price=parts[2],
                         description=parts[3] if len(parts) == 4 else "")


@order.command("reprice")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--amount", required=True, help="The price, a decimal.")
@pass_state
def order_reprice(state: CliState, account_id: str, order_id: str, amount: str) -> None:
    """Change the price of ORDER."""
    state.run(lambda a: m.ChangeOrderPrice(account=account_id, order=order_id, amount=amount, actor=a))


@order.command("send-cart")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@pass_state
def order_send_cart(state: CliState, account_id: str, order_id: str) -> None:
    """Email the "Approve Order Payment" cart link for ORDER's balance due (an order with no hold yet)."""
    state.run(lambda a: m.RequestCart(account=account_id, order=order_id, actor=a))


@order.command("cancel")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--reason", default="", help="Why the order is cancelled (audit log).")
@pass_state
def order_cancel(state: CliState, account_id: str, order_id: str, reason: str) -> None:
    """Cancel ORDER; its holds are voided and its payments become credit."""
    state.run(lambda a: m.CancelOrder(account=account_id, order=order_id, reason=reason, actor=a))


@order.command("replace")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.argument("new_order_id", metavar="NEW_ORDER")
@click.option("--amount", required=True, help="The price, a decimal.")
@pass_state
def order_replace(state: CliState, account_id: str, order_id: str, new_order_id: str, amount: str) -> None:
    """Cancel ORDER, create NEW_ORDER linked to it, and move its payments over."""
    state.run(lambda a: m.ReplaceOrder(account=account_id, order=order_id, new_order=new_order_id, amount=amount,
                                       actor=a))
