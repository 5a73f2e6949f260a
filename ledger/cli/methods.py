"""CLI commands for saved payment methods and autopay (seed 002)."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def method() -> None:
    """Saved payment methods (gateway token, brand, last four, expiry) and autopay."""


@method.command("add")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("method_id", metavar="METHOD")
@click.option("--kind", type=click.Choice(["card", "ach", "paypal"]), default="card", show_default=True,
              help="What the method is.")
@click.option("--token", required=True, help="The gateway's token for it (never a card number).")
@click.option("--brand", required=True, help="Card brand or bank name, as shown to the customer.")
@click.option("--last4", required=True, help="Last four digits, as shown to the customer.")
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
