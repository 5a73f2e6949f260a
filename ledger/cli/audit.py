"""CLI commands for the audit: the audit log, verification against the log, exports for auditors."""

from __future__ import annotations

import itertools
import sys
from typing import Any

import click
import structlog

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail
from ledger.cli.read import keeper, show
from ledger.errors import LedgerError
from ledger.ports.clock import parse_instant
from ledger.projections import queries
from replay.export import anchor_record, records, render
from replay.verify import parse_anchor, verify

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def audit() -> None:
    """The audit log, verification against the log, exports for auditors."""


@audit.command("log")
@click.option("--account", "account_id")
@click.option("--actor", metavar="KIND:NAME|NAME", help="csr:jdoe for that CSR, jdoe for any kind named jdoe.")
@click.option("--from", "start", metavar="TIME")
@click.option("--to", "end", metavar="TIME")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
@json_option
@pass_state
def audit_log(state: CliState, account_id: str | None, actor: str | None, start: str | None, end: str | None,
              limit: int) -> None:
    """Who did what, when, through which channel."""
    zone = state.ledger().ports.clock.zone
    with keeper(state) as kept:
        rows = queries.audit_log(kept.connection("audit"), account_id=account_id, actor=actor,
                                 since=parse_instant(start, zone, "from") if start else None,
                                 until=parse_instant(end, zone, "to") if end else None, limit=limit,
                                 zone=zone)
    show(state, "Audit log", rows)


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="POSITION:HASH",
        help="A chain head kept elsewhere (printed by an earlier verify or export); repeatable.")
@json_option
@pass_state
def audit_verify(state: CliState, anchors: tuple[str, ...]) -> None:
    """Hash chain, projections rebuilt and diffed, invariants; exits 1 on any discrepancy."""
    failure = None
    with keeper(state, catch_up=False) as kept:
        try:
            kept.catch_up()
        except Exception as error:  # reported by verify: an undecodable row it names, or a finding of its own
            structlog.get_logger("ledger.cli").warning("audit_verify_projections_not_caught_up", error=repr(error))
            failure = f"{type(error).__name__}: {error}"
        result = verify(state.ledger().store, kept, [parse_anchor(a) for a in anchors], failure)
    if state.as_json:
        emit_json(result)
    else:
        for checked in result.projections:
            click.echo(f"projection {checked.projection}: compared with a rebuild at position {checked.position}")
        for finding in result.findings:
            click.echo(f"{finding.check}: {finding.detail}")
        click.echo(f"{'OK' if result.ok else 'DISCREPANCIES FOUND'}: {result.events} events checked; "
                   f"chain head {result.chain_head}")
    if not result.ok:
        sys.exit(1)


@audit.command("export")
@click.option("--from", "start", required=True, metavar="TIME")
@click.option("--to", "end", required=True, metavar="TIME")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--output", type=click.File("w"), default="-", help="File to write (default stdout).")
@pass_state
def audit_export(state: CliState, start: str, end: str, fmt: str, output: Any) -> None:
    """The journal and the audit log of [FROM, TO) for an auditor, ending with the hash chain's head."""
    ledger = state.ledger()
    zone = ledger.ports.clock.zone
    try:
        first, last = parse_instant(start, zone, "from"), parse_instant(end, zone, "to")
    except LedgerError as error:
        fail(error, state.as_json)
    with keeper(state, catch_up=False) as kept:
        kept.chain.catch_up(kept.events)
        head = kept.chain.head()
    for chunk in render(itertools.chain(records(ledger.store, first, last), [anchor_record(*head)]), fmt):
        output.write(chunk)
