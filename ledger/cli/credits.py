"""CLI commands for customer credits: issue, apply, refund."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def credit() -> None:
    """Issue, apply and refund customer credit."""


@credit.command("issue")
@click.argument("account")
@click.argument("credit_id", metavar="CREDIT")
@click.option("--amount", required=True, help="Amount of the credit memo, a decimal.")
@click.option("--reference", default="", help="Why: a memo number, a ticket.")
@pass_state
def credit_issue(state: CliState, account: str, credit_id: str, amount: str, reference: str) -> None:
    """Issue a credit memo."""
    state.run(lambda a: m.IssueCredit(account=account, credit=credit_id, amount=amount, reference=reference,
                                      actor=a))


@credit.command("apply")
@click.argument("account")
@click.argument("credit_id", metavar="CREDIT")
@click.option("--amount", required=True, help="Amount to spend, a decimal.")
@click.option("--invoice", default=None, help="The invoice to pay.")
@click.option("--order", default=None, help="The order to pay.")
@pass_state
def credit_apply(state: CliState, account: str, credit_id: str, amount: str, invoice: str | None,
                 order: str | None) -> None:
    """Apply open credit to one invoice or order."""
    state.run(lambda a: m.ApplyCredit(account=account, credit=credit_id, amount=amount, invoice=invoice,
                                      order=order, actor=a))


@credit.command("refund")
@click.argument("account")
@click.argument("credit_id", metavar="CREDIT")
@click.option("--amount", required=True, help="Amount to pay out, a decimal.")
@click.option("--key", default=None, help="Idempotency key (default: CREDIT and the amount).")
@pass_state
def credit_refund(state: CliState, account: str, credit_id: str, amount: str, key: str | None) -> None:
    """Pay open credit back to the customer."""
    state.run(lambda a: m.RefundCredit(account=account, credit=credit_id, amount=amount, key=key, actor=a))
