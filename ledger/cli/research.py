"""CLI commands for payments awaiting research (seed 000)."""

from __future__ import annotations

import click

from ledger.aggregates.events.payments import PURPOSES
from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def research() -> None:
    """Guest payments that match no order or customer yet."""


@research.command("receive")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--amount", required=True, help="Amount received, a decimal.")
@click.option("--currency", default="USD", show_default=True, help="ISO currency of the amount.")
@click.option("--method", type=click.Choice(["card", "paypal"]), default="card", show_default=True,
              help="How the guest paid.")
@click.option("--token", required=True, help="The gateway's token.")
@click.option("--reference", required=True, help="What the guest typed: order or customer number.")
@pass_state
def research_receive(state: CliState, payment_id: str, amount: str, currency: str, method: str, token: str,
                     reference: str) -> None:
    """Record a guest payment that waits for research."""
    state.run(lambda a: m.ReceiveUnidentifiedPayment(payment=payment_id, amount=amount, currency=currency,
                                                     method=method, token=token, reference=reference, actor=a))  # type: ignore[arg-type]


@research.command("refer")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--note", default="", help="What accounting should know (audit log).")
@pass_state
def research_refer(state: CliState, payment_id: str, note: str) -> None:
    """Send the payment to Accounting for research."""
    state.run(lambda a: m.ReferToAccounting(payment=payment_id, note=note, actor=a))


@research.command("match")
@click.argument("payment_id", metavar="PAYMENT")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--order", default=None, help="Apply to this open order (default: deposit on the account).")
@click.option("--purpose", type=click.Choice(PURPOSES), default=None,
              help="Deposit it for this purpose (seed 000: service parts, labour, ...); a CSR applies it later.")
@pass_state
def research_match(state: CliState, payment_id: str, account_id: str, order: str | None,
                   purpose: str | None) -> None:
    """Record the researched payment on ACCOUNT."""
    state.run(lambda a: m.MatchPayment(payment=payment_id, account=account_id, order=order,
                                       purpose=purpose, actor=a))  # type: ignore[arg-type]
