"""Read-side CLI commands: projections, the CSR dashboard, portal tabs, finance replays and the audit."""

from __future__ import annotations

import copy
import csv
import functools
import itertools
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import msgspec
import structlog
from rich.console import Console
from rich.progress import Progress

from ledger.cli.accounts import account
from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail
from ledger.cli.tables import table
from ledger.commands.unit import check_date
from ledger.errors import LedgerError, ValidationError
from ledger.ports.clock import business_date, parse_instant
from ledger.projections import fresh, queries
from ledger.projections.keeper import ProjectionKeeper
from replay.asof import balances_as_of
from replay.export import anchor_record, records, render, spreadsheet_safe
from replay.statement import statement
from replay.verify import parse_anchor, verify

pass_state = click.make_pass_decorator(CliState)


class TypedName(click.Parameter):
    """A parameter whose usage errors name it as it is typed (``within-days``, ``from``, ``account``), not by
    its Python name (``within_days``, ``start``, ``account_id``), like the errors the commands raise themselves.

    ``ledger.cli.main`` reports a click error's field as ``error.param.name``: the error is re-raised with a
    copy of the parameter bearing the typed name, so the message and the exit code stay click's.
    """

    def typed_name(self) -> str:
        """The name a person types: the longest flag without its dashes, or the argument's metavar."""
        if isinstance(self, click.Option):
            return max(self.opts, key=len).lstrip("-")
        return (self.metavar or self.name or "").lower()

    def handle_parse_result(self, ctx: click.Context, opts: Mapping[str, Any],
                            args: list[str]) -> tuple[Any, list[str]]:
        """Click's parsing, with usage errors renamed (see the class)."""
        try:
            return super().handle_parse_result(ctx, opts, args)
        except click.BadParameter as error:
            if error.param is self:
                renamed = copy.copy(self)
                renamed.name = self.typed_name()
                error.param = renamed
            raise


class TypedOption(TypedName, click.Option):
    """A click.Option whose usage errors name it as typed."""


class TypedArgument(TypedName, click.Argument):
    """A click.Argument whose usage errors name it as typed."""


option = functools.partial(click.option, cls=TypedOption)
argument = functools.partial(click.argument, cls=TypedArgument)


@contextmanager
def keeper(state: CliState, catch_up: bool = True) -> Iterator[ProjectionKeeper]:
    """The ledger's projections, caught up with the log first so reads are fresh; refusals exit 2."""
    ledger = state.ledger()
    kept = ProjectionKeeper(ledger.store, ledger.settings.home)
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
        row = kept.connection("audit").execute("select max(at) from audit_log").fetchone()
        latest = datetime.fromisoformat(row[0]) if row and row[0] else None
    except Exception:  # a warning never stops a read
        return
    if latest is not None and latest > now:
        newest_at = latest.astimezone(zone).isoformat(timespec="seconds")
        click.echo(f"warning: --at {now.astimezone(zone).isoformat(timespec='seconds')} is before the newest "
                   f"event ({newest_at}): these read models show the ledger "
                   f"as it is now; for balances at that instant use `ledger replay balances --as-of` or "
                   f"`ledger replay statement`", err=True)


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
    """Each projection's position in the log, its lag and when a batch was last applied to it."""
    with keeper(state, catch_up=False) as kept:
        rows = [msgspec.to_builtins(s) for s in kept.status()]
    show(state, "Projections", rows)


@projections.command("rebuild")
@argument("names", nargs=-1)
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
        with Progress(console=Console(stderr=True), disable=state.as_json) as bar:
            task = bar.add_task("rebuilding", total=head)
            applied = kept.rebuild(list(names) or None, progress=lambda n: bar.advance(task, n))
        result = {"rebuilt": list(dict.fromkeys(names)) or [s.name for s in kept.status()], "events": applied}
    if state.as_json:
        emit_json(result)
    else:
        click.echo(f"rebuilt {', '.join(result['rebuilt'])} from {applied} events")  # type: ignore[arg-type]


@cli.command("dashboard")
@option("--within-days", default=3, show_default=True, type=click.IntRange(0, 365))
@json_option
@pass_state
def dashboard(state: CliState, within_days: int) -> None:
    """The CSR dashboard: unpaid orders, expiring authorizations, manual processing, research."""
    with keeper(state) as kept:
        clock = state.ledger().ports.clock
        rows = queries.dashboard(kept.connection("accounts"), clock.now(), within_days, clock.zone)
    show(state, "Dashboard", rows)


@account.command("balance")
@argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_balance(state: CliState, account_id: str) -> None:
    """Balance owed, credit, last payment and overdue amount."""
    clock = state.ledger().ports.clock
    with keeper(state) as kept:
        row = queries.balance(kept.connection("accounts"), account_id, business_date(clock.now(), clock.zone),
                              clock.zone)
    show(state, "Balance", [row])


@account.command("invoices")
@argument("account_id", metavar="ACCOUNT")
@option("--status", type=click.Choice(list(queries.INVOICE_STATUSES)))
@json_option
@pass_state
def account_invoices(state: CliState, account_id: str, status: str | None) -> None:
    """The invoices tab, filterable by status."""
    with keeper(state) as kept:
        rows = queries.invoices(kept.connection("accounts"), account_id, status)
    show(state, "Invoices", rows)


@account.command("payments")
@argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_payments(state: CliState, account_id: str) -> None:
    """The payments tab."""
    with keeper(state) as kept:
        rows = queries.payments(kept.connection("accounts"), account_id, state.ledger().ports.clock.zone)
    show(state, "Payments", rows)


@account.command("credits")
@argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_credits(state: CliState, account_id: str) -> None:
    """The credits tab."""
    with keeper(state) as kept:
        rows = queries.credits(kept.connection("accounts"), account_id, state.ledger().ports.clock.zone)
    show(state, "Credits", rows)


@account.command("history")
@argument("account_id", metavar="ACCOUNT")
@option("--period", type=click.Choice(list(queries.PERIODS)),
        help="Last 30 days, 3 or 6 months (same day of the month, business time zone), a year; all end now.")
@option("--year", type=int, help="Which year of --period year (default this one); alone, implies --period year.")
@json_option
@pass_state
def account_history(state: CliState, account_id: str, period: str | None, year: int | None) -> None:
    """Order history from every channel, newest first; --year alone means --period year."""
    clock = state.ledger().ports.clock
    with keeper(state) as kept:
        rows = queries.order_history(kept.connection("accounts"), account_id, period, clock.now(), clock.zone, year)
    show(state, "Orders", rows)


@cli.group()
def replay() -> None:
    """Finance replays computed from the event log (not the projections)."""


@replay.command("balances")
@option("--as-of", "as_of", required=True, metavar="TIME|now")
@json_option
@pass_state
def replay_balances(state: CliState, as_of: str) -> None:
    """Every account's balances and the trial balance as of TIME: the events before it (``now``: every event
    recorded up to the clock's now, ``--at`` if given)."""
    ledger = state.ledger()
    try:
        clock = ledger.ports.clock
        moment = (clock.now() + timedelta(microseconds=1) if as_of.strip().lower() == "now"
                  else parse_instant(as_of, clock.zone, "as-of"))
        result = balances_as_of(ledger.store, moment)
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(result)
        return
    table(f"Balances as of {result.as_of}", [msgspec_dict(a) for a in result.accounts])
    table("Trial balance", [msgspec_dict(line) for line in result.trial_balance])
    click.echo("balanced" if result.balanced else "NOT BALANCED")


@replay.command("statement")
@argument("account_id", metavar="ACCOUNT")
@option("--from", "start", required=True, metavar="DATE")
@option("--to", "end", required=True, metavar="DATE")
@option("--csv", "as_csv", is_flag=True)
@json_option
@pass_state
def replay_statement(state: CliState, account_id: str, start: str, end: str, as_csv: bool) -> None:
    """Opening balance, every movement and closing balance of ACCOUNT between two dates."""
    ledger = state.ledger()
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


@cli.group()
def audit() -> None:
    """The audit log, verification against the log, exports for auditors."""


@audit.command("log")
@option("--account", "account_id")
@option("--actor", metavar="KIND:NAME|NAME", help="csr:jdoe for that CSR, jdoe for any kind named jdoe.")
@option("--from", "start", metavar="TIME")
@option("--to", "end", metavar="TIME")
@option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
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


@audit.command("search")
@click.argument("text")
@option("--account", "account_id", help="Only this account's events.")
@option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="The newest N matches.")
@json_option
@pass_state
def audit_search(state: CliState, text: str, account_id: str | None, limit: int) -> None:
    """Audit rows whose comment, details (ids, references, amounts), actor, channel or event type hold every
    word of TEXT: "Payment Applied", a reference number, jdoe."""
    with keeper(state) as kept:
        rows = queries.audit_search(kept.connection("audit"), text, account_id=account_id, limit=limit,
                                    zone=state.ledger().ports.clock.zone)
    show(state, "Audit log", rows)


@audit.command("verify")
@option("--anchor", "anchors", multiple=True, metavar="POSITION:HASH",
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
@option("--from", "start", required=True, metavar="TIME")
@option("--to", "end", required=True, metavar="TIME")
@option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@option("--output", type=click.File("w"), default="-", help="File to write (default stdout).")
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
