"""CLI commands for finance replays computed from the event log (``replay`` package): balances as of an
instant, an account's statement."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta

import click

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail, progress_bar
from ledger.cli.read import msgspec_dict
from ledger.cli.tables import table
from ledger.commands.validation import check_date
from ledger.errors import LedgerError, ValidationError
from ledger.ports.clock import parse_instant
from replay.asof import balances_as_of
from replay.export import spreadsheet_safe
from replay.statement import statement

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def replay() -> None:
    """Finance replays computed from the event log (not the projections)."""


@replay.command("balances")
@click.option("--as-of", "as_of", required=True, metavar="TIME|now",
              help="The instant (business zone unless it has an offset), or now.")
@json_option
@pass_state
def replay_balances(state: CliState, as_of: str) -> None:
    """Every account's balances and the trial balance as of TIME: the events before it (``now``: every event
    recorded up to the clock's now, ``--at`` if given)."""
    ledger = state.reader()
    try:
        clock = ledger.ports.clock
        moment = (clock.now() + timedelta(microseconds=1) if as_of.strip().lower() == "now"
                  else parse_instant(as_of, clock.zone, "as-of"))
        with progress_bar("replaying", ledger.store.recorder.max_notification_id() or 0,
                          hidden=state.as_json) as advance:
            result = balances_as_of(ledger.store, moment, advance, clock.zone)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(result)
        return
    table(f"Balances as of {result.as_of}", [msgspec_dict(a) for a in result.accounts])
    table("Trial balance", [msgspec_dict(line) for line in result.trial_balance])
    click.echo("balanced" if result.balanced else "NOT BALANCED")


@replay.command("statement")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--from", "start", required=True, metavar="DATE", help="First business day of the period.")
@click.option("--to", "end", required=True, metavar="DATE", help="Last business day of the period (inclusive).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout instead of a table.")
@json_option
@pass_state
def replay_statement(state: CliState, account_id: str, start: str, end: str, as_csv: bool) -> None:
    """Opening balance, every movement and closing balance of ACCOUNT between two dates."""
    ledger = state.reader()
    zone = ledger.ports.clock.zone
    try:
        first, last = check_date(start, "from"), check_date(end, "to")  # business dates: a time would be cut
        if last < first:
            raise ValidationError("--to is before --from", field="to")
        result = statement(ledger.store, account_id, first, last, zone)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(result)
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("date", "event", "reference", "charge", "credit", "balance"))
        writer.writerow((result.period_from, "Opening balance", "", "", "", result.opening_balance))
        writer.writerows((line.date, line.event, spreadsheet_safe(line.reference), line.charge, line.credit,
                          line.balance) for line in result.lines)
        writer.writerow((result.period_to, "Credit on account", "", "", "", result.closing_credit))
        writer.writerow((result.period_to, "Closing balance", "", "", "", result.closing_balance))
    else:
        click.echo(f"{result.account} {result.currency} {result.period_from}..{result.period_to} "
                   f"opening {result.opening_balance} (credit on account {result.opening_credit})")
        table("Movements", [msgspec_dict(line) for line in result.lines])
        click.echo(f"closing {result.closing_balance} (credit on account {result.closing_credit})")
