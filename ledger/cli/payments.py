"""CLI commands for payments: submit, settle, return, reconcile, refund."""

from __future__ import annotations

import click

from ledger.aggregates.events.payments import PURPOSES
from ledger.cli.main import CliState, cli
from ledger.cli.output import emit_json
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


def parse_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``INV-1=10.00`` pairs into a dict; malformed pairs are a usage error naming the option."""
    pairs: dict[str, str] = {}
    for value in values:
        target, sep, amount = value.partition("=")
        if not sep or not target or not amount:
            raise click.BadParameter(f"{value!r} is not ID=AMOUNT", param_hint=option)
        if target in pairs:
            raise click.BadParameter(f"{target} is named twice", param_hint=option)
        pairs[target] = amount
    return pairs


@cli.group()
def payment() -> None:
    """Submit, settle, return and refund payments."""


@payment.command("submit")
@click.argument("account")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--amount", required=True, help="Amount, a decimal string: 100.00")
@click.option("--method", type=click.Choice(["card", "ach", "paypal"]), default=None,
              help="What the token is (with --saved: the saved method's kind).")
@click.option("--token", default=None, help="Gateway token (tok_visa, tok_ach ...); never a card number.")
@click.option("--saved", default=None, metavar="METHOD", help="Pay with this saved payment method instead of a token.")
@click.option("--invoice", "invoices", multiple=True, metavar="INVOICE=AMOUNT", help="Pay this much of an invoice.")
@click.option("--order", "orders", multiple=True, metavar="ORDER=AMOUNT", help="Pay this much of an order.")
@click.option("--distribute", is_flag=True, help="Apply oldest invoice first; the excess becomes credit.")
@click.option("--deposit", is_flag=True, help="Hold the payment on the account as a deposit credit.")
@click.option("--purpose", type=click.Choice(PURPOSES), default=None,
              help="With --deposit: what it is held for; a CSR applies it (credit apply), no payment spends it.")
@click.option("--exact", is_flag=True, help="Refuse anything but the exact amount due.")
@click.option("--key", default=None, help="Idempotency key (default: derived from PAYMENT).")
@pass_state
def payment_submit(state: CliState, account: str, payment_id: str, amount: str, method: str | None,
                   token: str | None, saved: str | None, invoices: tuple[str, ...], orders: tuple[str, ...],
                   distribute: bool, deposit: bool, purpose: str | None, exact: bool, key: str | None) -> None:
    """Charge a card, PayPal or ACH (a token, or a saved method) and apply the money."""
    inv, ords = parse_pairs(invoices, "--invoice"), parse_pairs(orders, "--order")
    state.run(lambda a: m.SubmitPayment(account=account, payment=payment_id, amount=amount, method=method,  # type: ignore[arg-type]
                                        token=token, saved=saved, invoices=inv, orders=ords,
                                        distribute=distribute, deposit=deposit, purpose=purpose, exact=exact, key=key,  # type: ignore[arg-type]
                                        actor=a))


@payment.command("settle")
@click.argument("account")
@click.argument("payment_id", metavar="PAYMENT")
@pass_state
def payment_settle(state: CliState, account: str, payment_id: str) -> None:
    """The ACH payment cleared: apply it."""
    state.run(lambda a: m.SettlePayment(account=account, payment=payment_id, actor=a))


@payment.command("return")
@click.argument("account")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--code", default="R01", show_default=True, help="ACH return reason code.")
@pass_state
def payment_return(state: CliState, account: str, payment_id: str, code: str) -> None:
    """The ACH payment came back: undo it."""
    state.run(lambda a: m.ReturnPayment(account=account, payment=payment_id, code=code, actor=a))


@payment.command("reconcile")
@pass_state
def payment_reconcile(state: CliState) -> None:
    """Ask the gateway about every pending ACH payment and record what the bank did (settled or returned).

    ``serve`` does this every 30 seconds; run this where no service runs, or to see it done at once."""
    from ledger.cli.read import keeper
    from workers.ach import reconcile_ach

    with keeper(state) as kept:
        recorded = reconcile_ach(state.ledger(), kept)
    if state.as_json:
        emit_json({"recorded": recorded})
    else:
        click.echo(f"{recorded} ACH payment(s) settled or returned")


@payment.command("refund")
@click.argument("account")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--amount", required=True, help="Amount to refund, a decimal.")
@click.option("--key", default=None, help="Idempotency key (default: derived from PAYMENT and amount).")
@pass_state
def payment_refund(state: CliState, account: str, payment_id: str, amount: str, key: str | None) -> None:
    """Refund (part of) a card or PayPal payment."""
    state.run(lambda a: m.RefundPayment(account=account, payment=payment_id, amount=amount, key=key, actor=a))
