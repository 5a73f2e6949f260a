"""CLI commands for the ledger's side of the gateway: reconcile, the reconciliation list, settle an item."""

from __future__ import annotations

import click
import msgspec

from ledger.cli.main import CliState, cli
from ledger.cli.output import emit_json, fail
from ledger.cli.tables import table
from ledger.errors import NotFound
from ledger.ports.clock import parse_instant

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def gateway() -> None:
    """Reconcile the ledger with the payment gateway's transactions."""


@gateway.command("reconcile")
@click.option("--since", metavar="ISO-8601-TIME", help="List the gateway's transactions from this instant "
              "(default: 35 days ago, longer than a hold lives).")
@pass_state
def gateway_reconcile(state: CliState, since: str | None) -> None:
    """Match every gateway transaction to the ledger, void the holds it does not want, put what it cannot
    decide on the reconciliation list, and resolve intents older than 5 minutes. ``serve`` runs this every
    5 minutes."""
    from ledger.commands.reconciliation import reconcile

    ledger = state.ledger()
    start = parse_instant(since, ledger.settings.timezone, "since") if since else None
    report = reconcile(ledger.store, ledger.ports, since=start)
    if state.as_json:
        emit_json(report)
    else:
        click.echo(", ".join(f"{name} {value}" for name, value in msgspec.structs.asdict(report).items()))


@gateway.command("reconciliation")
@pass_state
def gateway_reconciliation(state: CliState) -> None:
    """The reconciliation list: gateway transactions the ledger has not recorded, each with what to do."""
    items = state.reader().store.gateway_book.flagged()
    if state.as_json:
        emit_json(items)
    else:
        table("Reconciliation", [msgspec.structs.asdict(item) for item in items])


@gateway.command("settled")
@click.argument("transaction_id", metavar="TRANSACTION")
@pass_state
def gateway_settled(state: CliState, transaction_id: str) -> None:
    """Take TRANSACTION off the reconciliation list once its action is done (recorded or refunded)."""
    if not state.ledger().store.gateway_book.unflag(transaction_id):
        fail(NotFound(f"{transaction_id} is not on the reconciliation list", field="transaction_id"),
             state.as_json)
    if state.as_json:
        emit_json({"settled": transaction_id})
    else:
        click.echo(f"{transaction_id}: off the reconciliation list")
