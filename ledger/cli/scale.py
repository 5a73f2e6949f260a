"""Scale CLI commands: ``migrate`` an event store between SQLite and PostgreSQL, ``snapshots refresh``."""

from __future__ import annotations

import sys

import click

from ledger.cli.main import CliState, cli
from ledger.cli.output import emit_json, fail, progress_bar
from ledger.errors import LedgerError

pass_state = click.make_pass_decorator(CliState)


@cli.command("migrate")
@click.option("--from", "source", required=True, metavar="sqlite:PATH|postgres:DSN[#schema]", help="The store to copy.")
@click.option("--to", "target", required=True, metavar="sqlite:PATH|postgres:DSN[#schema]",
              help="An empty store to copy into.")
@click.option("--resume", is_flag=True, help="Continue an interrupted copy (the target must be a prefix).")
@pass_state
def migrate(state: CliState, source: str, target: str, resume: bool) -> None:
    """Copy a whole event store into an empty one, verified by a hash chain over both; exits 1 if they differ."""
    from ledger.store.migrate import run

    try:
        with progress_bar("copying events", None, hidden=state.as_json) as advance:
            result = run(source, target, resume=resume, progress=advance)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(result)
    else:
        copied = result.events - result.resumed_after
        resumed = f" ({result.resumed_after} were there already)" if result.resumed_after else ""
        click.echo(f"{copied} events copied{resumed}; chain {result.source_chain[:16]}... "
                   f"{'verified' if result.verified else 'MISMATCH ' + result.target_chain[:16]}")
    if not result.verified:
        sys.exit(1)


@cli.group("snapshots")
def snapshots() -> None:
    """Account snapshots (what makes long histories load fast)."""


@snapshots.command("refresh")
@click.option("--lag", type=click.IntRange(min=1), metavar="N",
              help="Snapshot accounts N or more events past their newest snapshot [the snapshot interval].")
@pass_state
def snapshots_refresh(state: CliState, lag: int | None) -> None:
    """Snapshot every account far past its newest snapshot of the current format (run after an upgrade)."""
    from ledger.store.snapshots import refresh

    ledger = state.ledger()
    with progress_bar("accounts", None, hidden=state.as_json) as advance:
        result = refresh(ledger.store, lag=lag, progress=advance)
    if state.as_json:
        emit_json(result)
    else:
        click.echo(f"accounts: {result.accounts}; snapshots written: {result.snapshots_written} "
                   f"({result.events_replayed} events replayed)")
