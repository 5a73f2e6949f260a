"""Read-side CLI commands: projections, the CSR dashboard, portal tabs, finance replays and the audit."""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ledger.cli.accounts import account
from ledger.cli.main import CliState, cli
from ledger.cli.output import emit_json, fail
from ledger.errors import LedgerError, ValidationError
from ledger.ports.clock import business_date, parse_instant
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper
from replay.asof import balances_as_of
from replay.export import anchor_record, records, render
from replay.statement import statement
from replay.verify import parse_anchor, verify

pass_state = click.make_pass_decorator(CliState)


def _json_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliState).as_json = True


#: ``--json`` after the command as well as before it (``ledger replay balances --as-of T --json``).
json_option = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_json_flag,
                           help="Print JSON on stdout (same as the global --json).")


@contextmanager
def keeper(state: CliState, catch_up: bool = True) -> Iterator[ProjectionKeeper]:
    """The ledger's projections, caught up with the log first so reads are fresh; refusals exit 2."""
    ledger = state.ledger()
    kept = ProjectionKeeper(ledger.store, ledger.settings.home)
    try:
        if catch_up:
            kept.catch_up()
        yield kept
    except LedgerError as error:
        fail(error, state.as_json)
    finally:
        kept.close()


def table(title: str, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Print rows as a rich table (or a dash when empty)."""
    console = Console()
    if not rows:
        console.print(f"[bold]{title}[/bold]: none")
        return
    shown = columns or list(rows[0])
    out = Table(title=title, title_justify="left")
    for column in shown:
        out.add_column(column)
    for row in rows:
        out.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in shown))
    console.print(out)


def show(state: CliState, title: str, rows: Any) -> None:
    """JSON with --json, a table otherwise."""
    if state.as_json:
        emit_json(rows)
    elif isinstance(rows, dict):
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
    """Each projection's position in the log and its lag."""
    with keeper(state, catch_up=False) as kept:
        rows = [{"name": s.name, "position": s.position, "head": s.head, "lag": s.lag, "version": s.version,
                 "stale": s.stale, "file": s.file} for s in kept.status()]
    show(state, "Projections", rows)


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@json_option
@pass_state
def projections_rebuild(state: CliState, names: tuple[str, ...]) -> None:
    """Rebuild into new files from position 0, then swap atomically (the old files serve meanwhile)."""
    with keeper(state, catch_up=False) as kept:
        head = kept.events.head()
        with Progress(console=Console(stderr=True), disable=state.as_json) as bar:
            task = bar.add_task("rebuilding", total=head)
            applied = kept.rebuild(list(names) or None, progress=lambda n: bar.advance(task, n))
        result = {"rebuilt": list(dict.fromkeys(names)) or [s.name for s in kept.status()], "events": applied}
    if state.as_json:
        emit_json(result)
    else:
        click.echo(f"rebuilt {', '.join(result['rebuilt'])} from {applied} events")  # type: ignore[arg-type]


@cli.command("dashboard")
@click.option("--within-days", default=3, show_default=True, type=click.IntRange(0, 365))
@json_option
@pass_state
def dashboard(state: CliState, within_days: int) -> None:
    """The CSR dashboard: unpaid orders, expiring authorizations, manual processing, research."""
    with keeper(state) as kept:
        rows = queries.dashboard(kept.connection("accounts"), state.ledger().ports.clock.now(), within_days)
    show(state, "Dashboard", rows)


@account.command("balance")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_balance(state: CliState, account_id: str) -> None:
    """Balance owed, credit, last payment and overdue amount."""
    clock = state.ledger().ports.clock
    with keeper(state) as kept:
        row = queries.balance(kept.connection("accounts"), account_id, business_date(clock.now(), clock.zone))
    show(state, "Balance", [row])


@account.command("invoices")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--status", type=click.Choice(["open", "partially_paid", "paid", "void", "unpaid"]))
@json_option
@pass_state
def account_invoices(state: CliState, account_id: str, status: str | None) -> None:
    """The invoices tab, filterable by status."""
    with keeper(state) as kept:
        rows = queries.invoices(kept.connection("accounts"), account_id, status)
    show(state, "Invoices", rows)


@account.command("payments")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_payments(state: CliState, account_id: str) -> None:
    """The payments tab."""
    with keeper(state) as kept:
        rows = queries.payments(kept.connection("accounts"), account_id)
    show(state, "Payments", rows)


@account.command("credits")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_credits(state: CliState, account_id: str) -> None:
    """The credits tab."""
    with keeper(state) as kept:
        rows = queries.credits(kept.connection("accounts"), account_id)
    show(state, "Credits", rows)


@account.command("history")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--period", type=click.Choice(list(queries.PERIODS)), help="Last 30 days, 3 or 6 months, a year.")
@click.option("--year", type=int, help="With --period year: which year (default this one).")
@json_option
@pass_state
def account_history(state: CliState, account_id: str, period: str | None, year: int | None) -> None:
    """Order history from every channel."""
    clock = state.ledger().ports.clock
    with keeper(state) as kept:
        rows = queries.order_history(kept.connection("accounts"), account_id, period, clock.now(), clock.zone, year)
    show(state, "Orders", rows)


@cli.group()
def replay() -> None:
    """Finance replays computed from the event log (not the projections)."""


@replay.command("balances")
@click.option("--as-of", "as_of", required=True, metavar="TIME")
@json_option
@pass_state
def replay_balances(state: CliState, as_of: str) -> None:
    """Every account's balances and the trial balance as of TIME."""
    ledger = state.ledger()
    try:
        result = balances_as_of(ledger.store, parse_instant(as_of, ledger.ports.clock.zone, "as_of"))
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
@click.option("--from", "start", required=True, metavar="DATE")
@click.option("--to", "end", required=True, metavar="DATE")
@click.option("--csv", "as_csv", is_flag=True)
@json_option
@pass_state
def replay_statement(state: CliState, account_id: str, start: str, end: str, as_csv: bool) -> None:
    """Opening balance, every movement and closing balance of ACCOUNT between two dates."""
    ledger = state.ledger()
    zone = ledger.ports.clock.zone
    try:
        first, last = (business_date(parse_instant(v, zone, f), zone) for v, f in ((start, "from"), (end, "to")))
        if last < first:
            raise ValidationError("--to is before --from", field="to")
        result = statement(ledger.store, account_id, first, last, zone)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(result)
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("date", "event", "reference", "charge", "payment", "balance"))
        writer.writerow((result.period_from, "Opening balance", "", "", "", result.opening_balance))
        writer.writerows((line.date, line.event, line.reference, line.charge, line.payment, line.balance)
                         for line in result.lines)
        writer.writerow((result.period_to, "Closing balance", "", "", "", result.closing_balance))
    else:
        click.echo(f"{result.account} {result.currency} {result.period_from}..{result.period_to} "
                   f"opening {result.opening_balance}")
        table("Movements", [msgspec_dict(line) for line in result.lines])
        click.echo(f"closing {result.closing_balance}")


@cli.group()
def audit() -> None:
    """The audit log, verification against the log, exports for auditors."""


@audit.command("log")
@click.option("--account", "account_id")
@click.option("--actor")
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
                                 until=parse_instant(end, zone, "to") if end else None, limit=limit)
    show(state, "Audit log", rows)


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="POSITION:HASH",
              help="A chain head kept elsewhere (printed by an earlier verify or export); repeatable.")
@json_option
@pass_state
def audit_verify(state: CliState, anchors: tuple[str, ...]) -> None:
    """Hash chain, projections rebuilt and diffed, invariants; exits 1 on any discrepancy."""
    with keeper(state) as kept:
        result = verify(state.ledger().store, kept, [parse_anchor(a) for a in anchors])
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


def msgspec_dict(obj: Any) -> dict[str, Any]:
    """A Struct as a plain dict (for tables)."""
    result: dict[str, Any] = msgspec.to_builtins(obj)
    return result
