"""CLI commands for invoices: issue, adjust, void."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def invoice() -> None:
    """Issue, adjust and void invoices."""


@invoice.command("issue")
@click.argument("account")
@click.argument("invoice_id", metavar="INVOICE")
@click.option("--amount", required=True, help="Total, a decimal string: 120.00")
@click.option("--date", "issued", required=True, help="Invoice date, YYYY-MM-DD.")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD.")
@click.option("--order", default=None, help="The order this invoice bills.")
@pass_state
def invoice_issue(state: CliState, account: str, invoice_id: str, amount: str, issued: str, due: str,
                  order: str | None) -> None:
    """Issue INVOICE on ACCOUNT."""
    state.run(lambda a: m.IssueInvoice(account=account, invoice=invoice_id, amount=amount, date=issued, due=due,
                                       order=order, actor=a))


@invoice.command("adjust")
@click.argument("account")
@click.argument("invoice_id", metavar="INVOICE")
@click.option("--amount", required=True, help="The new total.")
@click.option("--reason", default="", help="Why: kept in the audit log.")
@pass_state
def invoice_adjust(state: CliState, account: str, invoice_id: str, amount: str, reason: str) -> None:
    """Change the total of INVOICE."""
    state.run(lambda a: m.AdjustInvoice(account=account, invoice=invoice_id, amount=amount, reason=reason, actor=a))


@invoice.command("void")
@click.argument("account")
@click.argument("invoice_id", metavar="INVOICE")
@click.option("--reason", default="", help="Why: kept in the audit log.")
@pass_state
def invoice_void(state: CliState, account: str, invoice_id: str, reason: str) -> None:
    """Void INVOICE; money applied to it becomes credit."""
    state.run(lambda a: m.VoidInvoice(account=account, invoice=invoice_id, reason=reason, actor=a))
