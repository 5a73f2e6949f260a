"""Read-side CLI commands: projections, the CSR dashboard and the portal tabs of an account (``account balance``,
``invoices``, ...), with the helpers the replay and audit commands share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import click
import msgspec

from ledger.cli.access import account
from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail, progress_bar
from ledger.cli.tables import Rows, table
from ledger.errors import LedgerError
from ledger.ports.clock import business_date, local_text
from ledger.ports.ids import account_uuid
from ledger.projections import audit_queries, fresh, queries
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.unpaid import unpaid

pass_state = click.make_pass_decorator(CliState)


@contextmanager
def keeper(state: CliState, catch_up: bool = True) -> Iterator[ProjectionKeeper]:
    """The ledger's projections, caught up with the log first so reads are fresh; refusals exit 2."""
    ledger = state.reader()
    kept = ledger.keeper()
    try:
        if catch_up:
            kept.catch_up()
        if state.at:
            warn_if_in_the_past(kept, ledger.ports.clock.now(), ledger.ports.clock.zone)
        yield kept
    except LedgerError as error:
        fail(error, state.as_json)
    finally:
        kept.close()


def warn_if_in_the_past(kept: ProjectionKeeper, now: datetime, zone: ZoneInfo) -> None:
    """``--at`` earlier than the newest event: say on stderr that the read models show the ledger as it is
    (``--at`` only sets the day for overdue amounts, periods and expiry windows), and where the past is."""
    try:  # the latest time of any event (the audit log's index): the log is in time order per account only
        newest = audit_queries.newest_audit_instant(kept.connection("audit"))
        latest = datetime.fromisoformat(newest) if newest else None
    except Exception:  # a warning never stops a read
        return
    if latest is not None and latest > now:
        click.echo(f"warning: --at {local_text(now, zone)} is before the newest "
                   f"event ({local_text(latest, zone)}): these read models show the ledger "
                   f"as it is now; for balances at that instant use `ledger replay balances --as-of` or "
                   f"`ledger replay statement`", err=True)


def show(state: CliState, title: str, rows: Rows | Mapping[str, Rows]) -> None:
    """JSON with --json, a table otherwise."""
    if state.as_json:
        emit_json(rows)
    elif isinstance(rows, Mapping):
        for name, part in rows.items():
            table(f"{title}: {name.replace('_', ' ')}", part)
    else:
        table(title, rows)


@cli.group()
def projections() -> None:
    """Read models: status and rebuilds."""


@projections.command("status")
@json_option
@pass_state
def projections_status(state: CliState) -> None:
    """Each projection's position in the log, its lag and when a batch was last applied to it."""
    with keeper(state, catch_up=False) as kept:
        rows = [msgspec.to_builtins(s) for s in kept.status(state.reader().ports.clock.zone)]
    show(state, "Projections", rows)


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@json_option
@pass_state
def projections_rebuild(state: CliState, names: tuple[str, ...]) -> None:
    """Rebuild into new files from position 0, then swap atomically (the old files serve meanwhile)."""
    try:
        fresh(list(names) or None)  # an unknown name is refused before a progress bar is drawn
    except LedgerError as error:
        fail(error, state.as_json)
    with keeper(state, catch_up=False) as kept:
        head = kept.events.head()
        with progress_bar("rebuilding", head, hidden=state.as_json) as advance:
            applied = kept.rebuild(list(names) or None, progress=advance)
        result = {"rebuilt": list(dict.fromkeys(names)) or [s.name for s in kept.status()], "events": applied}
    if state.as_json:
        emit_json(result)
    else:
        click.echo(f"rebuilt {', '.join(result['rebuilt'])} from {applied} events")  # type: ignore[arg-type]


@cli.command("dashboard")
@click.option("--within-days", default=3, show_default=True, type=click.IntRange(0, 365),
              help="Authorizations expiring within this many days.")
@json_option
@pass_state
def dashboard(state: CliState, within_days: int) -> None:
    """The CSR dashboard: unpaid orders, expiring authorizations, manual processing, research, and the gateway
    transactions the ledger has not recorded (``ledger gateway reconciliation``)."""
    with keeper(state) as kept:
        reader = state.reader()
        clock = reader.ports.clock
        rows: dict[str, Rows] = {**queries.dashboard(kept.connection("accounts"), clock.now(), within_days,
                                                      clock.zone),
                                 "reconciliation": reader.store.gateway_book.board(clock.zone)}
    show(state, "Dashboard", rows)


@account.command("balance")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_balance(state: CliState, account_id: str) -> None:
    """Balance owed, credit, last payment and overdue amount."""
    clock = state.reader().ports.clock
    with keeper(state) as kept:
        row = queries.balance(kept.connection("accounts"), account_id, business_date(clock.now(), clock.zone),
                              clock.zone)
    row["email"] = state.ledger().store.personal.reveal(account_uuid(account_id), row["email"])  # sealed in the row
    show(state, "Balance", [row])


@account.command("invoices")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--status", type=click.Choice(list(queries.INVOICE_STATUSES)),
              help="Only invoices of this status (unpaid: open or partially paid).")
@json_option
@pass_state
def account_invoices(state: CliState, account_id: str, status: str | None) -> None:
    """The invoices tab, filterable by status."""
    with keeper(state) as kept:
        rows = queries.invoices(kept.connection("accounts"), account_id, status)
    show(state, "Invoices", rows)


@account.command("unpaid")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_unpaid(state: CliState, account_id: str) -> None:
    """What the customer can pay now: open invoices and orders with a balance due (seed 001's Pay Now)."""
    with keeper(state) as kept:
        rows = unpaid(kept.connection("accounts"), account_id, state.ledger().ports.clock.zone)
    show(state, "Unpaid", rows)


@account.command("payments")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_payments(state: CliState, account_id: str) -> None:
    """The payments tab."""
    with keeper(state) as kept:
        rows = queries.payments(kept.connection("accounts"), account_id, state.reader().ports.clock.zone)
    show(state, "Payments", rows)


@account.command("credits")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_credits(state: CliState, account_id: str) -> None:
    """The credits tab."""
    with keeper(state) as kept:
        rows = queries.credits(kept.connection("accounts"), account_id, state.reader().ports.clock.zone)
    show(state, "Credits", rows)


@account.command("history")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--period", type=click.Choice(list(queries.PERIODS)),
        help="Last 30 days, 3 or 6 months (same day of the month, business time zone), a year; all end now.")
@click.option("--year", type=int, help="Which year of --period year (default this one); alone, implies --period year.")
@json_option
@pass_state
def account_history(state: CliState, account_id: str, period: str | None, year: int | None) -> None:
    """Order history from every channel, newest first; --year alone means --period year."""
    clock = state.reader().ports.clock
    with keeper(state) as kept:
        rows = queries.order_history(kept.connection("accounts"), account_id, period, clock.now(), clock.zone, year)
    if not state.as_json:  # a table shows how many lines an order has; --json gives them
        rows = [{**row, "items": len(row["items"])} for row in rows]
    show(state, "Orders", rows)


def msgspec_dict(obj: msgspec.Struct) -> dict[str, object]:
    """A Struct as a plain dict (for tables)."""
    result: dict[str, object] = msgspec.to_builtins(obj)
    return result
