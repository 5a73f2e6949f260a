"""CLI commands for the audit: the audit log, verification against the log, exports for auditors."""

from __future__ import annotations

import itertools
import sys
from typing import TextIO

import click
import structlog

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail, progress_bar
from ledger.cli.read import keeper, show
from ledger.errors import LedgerError
from ledger.ports.clock import parse_instant
from ledger.projections import audit_queries
from replay.export import anchor_record, records, render
from replay.verify import parse_anchor, verify

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def audit() -> None:
    """The audit log, verification against the log, exports for auditors."""


@audit.command("log")
@click.option("--account", "account_id", help="Only this account's events.")
@click.option("--actor", metavar="KIND:NAME|NAME", help="csr:jdoe for that CSR, jdoe for any kind named jdoe.")
@click.option("--from", "start", metavar="TIME", help="From this instant (business zone unless it has an offset).")
@click.option("--to", "end", metavar="TIME", help="Up to this instant, excluded.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="The newest N rows.")
@json_option
@pass_state
def audit_log(state: CliState, account_id: str | None, actor: str | None, start: str | None, end: str | None,
              limit: int) -> None:
    """Who did what, when, through which channel."""
    zone = state.reader().ports.clock.zone
    with keeper(state) as kept:
        rows = audit_queries.audit_log(kept.connection("audit"), account_id=account_id, actor=actor,
                                 since=parse_instant(start, zone, "from") if start else None,
                                 until=parse_instant(end, zone, "to") if end else None, limit=limit,
                                 zone=zone)
    show(state, "Audit log", rows)


@audit.command("search")
@click.argument("text")
@click.option("--account", "account_id", help="Only this account's events.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="The newest N matches.")
@json_option
@pass_state
def audit_search(state: CliState, text: str, account_id: str | None, limit: int) -> None:
    """Audit rows whose comment, details (ids, references, amounts), actor, channel or event type hold every
    word of TEXT: "Payment Applied", a reference number, jdoe."""
    with keeper(state) as kept:
        rows = audit_queries.audit_search(kept.connection("audit"), text, account_id=account_id, limit=limit,
                                    zone=state.reader().ports.clock.zone)
    show(state, "Audit log", rows)


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="POSITION:HASH",
        help="A chain head kept elsewhere (printed by an earlier verify or export); repeatable.")
@json_option
@pass_state
def audit_verify(state: CliState, anchors: tuple[str, ...]) -> None:
    """Hash chain, projections rebuilt and diffed, invariants; exits 1 on any discrepancy (a notice, such as
    text that reads as a card number, is printed and does not fail it)."""
    failure = None
    with keeper(state, catch_up=False) as kept:
        try:
            kept.catch_up()
        except Exception as error:  # reported by verify: an undecodable row it names, or a finding of its own
            structlog.get_logger("ledger.cli").warning("audit_verify_projections_not_caught_up", error=repr(error))
            failure = f"{type(error).__name__}: {error}"
        with progress_bar("verifying", 2 * kept.events.head(), hidden=state.as_json) as advance:
            result = verify(state.reader().store, kept, [parse_anchor(a) for a in anchors], failure, advance,
                            state.reader().ports.clock.zone)
    if state.as_json:
        emit_json(result)
    else:
        for checked in result.projections:
            click.echo(f"projection {checked.projection}: compared with a rebuild at position {checked.position}")
        for finding in result.findings:
            click.echo(f"{finding.check}: {finding.detail}")
        for notice in result.notices:
            click.echo(f"notice, {notice.check}: {notice.detail}; look at it in the store (docs/audit.md)")
        click.echo(f"{'OK' if result.ok else 'DISCREPANCIES FOUND'}: {result.events} events checked; "
                   f"chain head {result.chain_head}")
    if not result.ok:
        sys.exit(1)


@audit.command("export")
@click.option("--from", "start", required=True, metavar="TIME",
              help="From this instant (business zone unless it has an offset).")
@click.option("--to", "end", required=True, metavar="TIME", help="Up to this instant, excluded.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
              help="CSV for spreadsheets, or one JSON object per line.")
@click.option("--output", type=click.File("w"), default="-", help="File to write (default stdout).")
@pass_state
def audit_export(state: CliState, start: str, end: str, fmt: str, output: TextIO) -> None:
    """The journal and the audit log of [FROM, TO) for an auditor, ending with the hash chain's head."""
    ledger = state.reader()
    zone = ledger.ports.clock.zone
    try:
        first, last = parse_instant(start, zone, "from"), parse_instant(end, zone, "to")
    except LedgerError as error:
        fail(error, state.as_json)
    with keeper(state, catch_up=False) as kept:
        kept.chain.catch_up(kept.events)
        head = kept.chain.head()
    with progress_bar("exporting", head[0], hidden=state.as_json) as advance:
        exported = itertools.chain(records(ledger.store, first, last, advance, zone), [anchor_record(*head)])
        for chunk in render(exported, fmt):
            output.write(chunk)
