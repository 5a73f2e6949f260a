"""CLI commands for accounts, portal invitations, orders, saved methods and autopay."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail
from ledger.cli.tables import print_account
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.ports.ids import account_uuid
from ledger.views import account_view

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def account() -> None:
    """Open and show accounts; portal invitations."""


@account.command("open")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--email", required=True, help="Primary email: the one portal login.")
@click.option("--currency", default="USD", show_default=True)
@click.option("--name", default="")
@pass_state
def account_open(state: CliState, account_id: str, email: str, currency: str, name: str) -> None:
    """Open ACCOUNT."""
    state.run(lambda a: m.OpenAccount(account=account_id, email=email, currency=currency, name=name, actor=a))


@account.command("show")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_show(state: CliState, account_id: str) -> None:
    """Balances, invoices, payments, credits, orders and authorizations of ACCOUNT."""
    try:
        ledger = state.ledger()
        view = account_view(ledger.store.account(account_uuid(account_id)).state, ledger.ports.clock.zone)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(view)
    else:
        print_account(view)


@account.command("invite")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def account_invite(state: CliState, account_id: str) -> None:
    """Send a portal invitation (valid 72 hours) to the primary email."""
    state.run(lambda a: m.SendInvitation(account=account_id, actor=a))


@account.command("resend-invite")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def account_resend(state: CliState, account_id: str) -> None:
    """Resend the portal invitation with a fresh 72-hour link."""
    state.run(lambda a: m.ResendInvitation(account=account_id, actor=a))


@account.command("accept-invite")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--token", required=True)
@pass_state
def account_accept(state: CliState, account_id: str, token: str) -> None:
    """Register the portal login with the token from the invitation link."""
    state.run(lambda a: m.AcceptInvitation(account=account_id, token=token, actor=a))


@account.command("send-statement")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--from", "start", required=True, metavar="DATE")
@click.option("--to", "end", required=True, metavar="DATE")
@pass_state
def account_send_statement(state: CliState, account_id: str, start: str, end: str) -> None:
    """Email the statement of a period with a pay link."""
    state.run(lambda a: m.SendStatement(account=account_id, period_from=start, period_to=end, actor=a))


@cli.group()
def order() -> None:
    """Orders from any channel: place, reprice, cancel, replace."""


@order.command("place")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--amount", required=True)
@click.option("--channel", default="web", show_default=True, help="web, pos, phone, csr, portal, api")
@click.option("--description", default="")
@pass_state
def order_place(state: CliState, account_id: str, order_id: str, amount: str, channel: str,
                description: str) -> None:
    """Record ORDER on ACCOUNT."""
    state.run(lambda a: m.PlaceOrder(account=account_id, order=order_id, amount=amount, channel=channel,
                                     description=description, actor=a))


@order.command("reprice")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--amount", required=True)
@pass_state
def order_reprice(state: CliState, account_id: str, order_id: str, amount: str) -> None:
    """Change the price of ORDER."""
    state.run(lambda a: m.ChangeOrderPrice(account=account_id, order=order_id, amount=amount, actor=a))


@order.command("cancel")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.option("--reason", default="")
@pass_state
def order_cancel(state: CliState, account_id: str, order_id: str, reason: str) -> None:
    """Cancel ORDER; its holds are voided and its payments become credit."""
    state.run(lambda a: m.CancelOrder(account=account_id, order=order_id, reason=reason, actor=a))


@order.command("replace")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("order_id", metavar="ORDER")
@click.argument("new_order_id", metavar="NEW_ORDER")
@click.option("--amount", required=True)
@pass_state
def order_replace(state: CliState, account_id: str, order_id: str, new_order_id: str, amount: str) -> None:
    """Cancel ORDER, create NEW_ORDER linked to it, and move its payments over."""
    state.run(lambda a: m.ReplaceOrder(account=account_id, order=order_id, new_order=new_order_id, amount=amount,
                                       actor=a))


@cli.group()
def method() -> None:
    """Saved payment methods (gateway token, brand, last four, expiry) and autopay."""


@method.command("add")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("method_id", metavar="METHOD")
@click.option("--kind", type=click.Choice(["card", "ach", "paypal"]), default="card", show_default=True)
@click.option("--token", required=True)
@click.option("--brand", required=True)
@click.option("--last4", required=True)
@click.option("--exp", default=None, metavar="MM/YYYY", help="Expiry; required for a card.")
@pass_state
def method_add(state: CliState, account_id: str, method_id: str, kind: str, token: str, brand: str, last4: str,
               exp: str | None) -> None:
    """Save a payment method."""
    month = year = None
    if exp:
        mm, _, yyyy = exp.partition("/")
        if not (mm.isdigit() and yyyy.isdigit()):
            raise click.BadParameter("use MM/YYYY", param_hint="--exp")
        month, year = int(mm), int(yyyy)
    state.run(lambda a: m.AddPaymentMethod(account=account_id, method=method_id, kind=kind, token=token,  # type: ignore[arg-type]
                                           brand=brand, last4=last4, exp_month=month, exp_year=year, actor=a))


@method.command("remove")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("method_id", metavar="METHOD")
@pass_state
def method_remove(state: CliState, account_id: str, method_id: str) -> None:
    """Delete a saved method."""
    state.run(lambda a: m.RemovePaymentMethod(account=account_id, method=method_id, actor=a))


@method.command("default")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("method_id", metavar="METHOD")
@pass_state
def method_default(state: CliState, account_id: str, method_id: str) -> None:
    """Make METHOD the default."""
    state.run(lambda a: m.SetDefaultPaymentMethod(account=account_id, method=method_id, actor=a))


@method.command("autopay")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("switch", type=click.Choice(["on", "off"]))
@click.option("--method", "method_id", default=None, help="Method to charge (default: the default method).")
@pass_state
def method_autopay(state: CliState, account_id: str, switch: str, method_id: str | None) -> None:
    """Turn autopay of future invoices on or off."""
    if switch == "on":
        state.run(lambda a: m.EnableAutopay(account=account_id, method=method_id, actor=a))
    else:
        state.run(lambda a: m.DisableAutopay(account=account_id, actor=a))
