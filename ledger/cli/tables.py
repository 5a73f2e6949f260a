"""Readable rich tables for people (``--json`` prints the same data as JSON)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ledger.cards import displayable
from ledger.views import AccountView

#: Width of tables written to a pipe or a file (a terminal's own width is used on a terminal): wide enough that
#: ids, timestamps and the audit log's details are never cut short when an operator pipes a table to a file.
PIPE_WIDTH = 400

#: What a table shows: rows of named values, as the queries and the views give them.
Rows = Sequence[Mapping[str, object]]


def console() -> Console:
    """A console for tables: the terminal's width, or ``PIPE_WIDTH`` when stdout is not a terminal."""
    probe = Console()
    return probe if probe.is_terminal else Console(width=PIPE_WIDTH)


def table(title: str, rows: Rows, columns: list[str] | None = None) -> None:
    """Print rows as a rich table, or "TITLE: none" when there are none (the read commands' tabs, the dashboard,
    the audit log); values are shown as the queries return them, instants in the business time zone."""
    out_console = console()
    if not rows:
        out_console.print(f"[bold]{escape(displayable(title))}[/bold]: none")
        return
    shown = columns or list(rows[0])
    out = Table(title=cell(title), title_justify="left")
    for column in shown:
        out.add_column(Text(column))
    for row in rows:
        out.add_row(*(cell(row.get(c)) for c in shown))
    out_console.print(out)


def print_account(view: AccountView) -> None:
    """Print one account's header and its invoice, payment and credit tabs."""
    shown = console()
    named = f" {escape(displayable(view.name))}" if view.name else ""
    shown.print(f"[bold]{escape(displayable(view.account))}[/bold]{named} {escape(displayable(view.email))}  "
                f"{view.currency}  balance "
                f"[bold]{view.balance}[/bold]  orders due {view.orders_due}  "
                f"credit [green]{view.credit_balance}[/green]  portal {view.portal}"
                f"{'  autopay on' if view.autopay else ''}", emoji=False)
    tabs: list[tuple[str, list[str], list[list[str]]]] = [
        ("Invoices", ["id", "date", "due", "total", "paid", "open", "status"],
         [[i.id, i.date, i.due, i.total, i.paid, i.open, i.status] for i in view.invoices]),
        ("Payments", ["id", "date", "method", "amount", "status", "transaction"],
         [[p.id, p.date[:16], p.method, p.amount, p.status, p.transaction_id] for p in view.payments]),
        ("Credits", ["id", "date", "amount", "remaining", "kind", "reference"],
         [[c.id, c.date[:10], c.amount, c.remaining, c.kind, c.reference] for c in view.credits]),
        ("Orders", ["id", "amount", "paid", "status", "channel", "link", "manual"],
         [[o.id, o.amount, o.paid, o.status, o.channel, _link(o.replaces, o.replaced_by),
           "yes" if o.manual_processing else ""] for o in view.orders]),
        ("Authorizations", ["id", "order", "amount", "status", "expires"],
         [[a.id, a.order, a.amount, a.status, a.expires_at[:16]] for a in view.authorizations]),
        ("Payment methods", ["id", "kind", "brand", "last4", "expires", "default", "autopay"],
         [[m.id, m.kind, m.brand, m.last4, m.expires, "yes" if m.default else "", "yes" if m.autopay else ""]
          for m in view.methods]),
    ]
    for title, columns, rows in tabs:
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, justify="right" if column in ("total", "paid", "open", "amount",
                                                                     "remaining") else "left")
        for row in rows:
            table.add_row(*map(cell, row))
        shown.print(table)


def cell(value: object) -> Text:
    """A table cell holding ``value`` as plain text: what customers and CSRs typed (names, references, ids) is
    never read as rich markup (``[/]`` would break the table, ``[link=...]`` spoof a link) or emoji codes, and
    control characters (terminal escapes) are shown as ``\\xNN`` (:func:`ledger.cards.displayable`)."""
    return Text("" if value is None else displayable(str(value)))


def _link(replaces: str | None, replaced_by: str | None) -> str:
    """"<-OLD ->NEW": the orders linked to this one by a replacement (seed 004)."""
    return " ".join(x for x in (f"<-{replaces}" if replaces else "", f"->{replaced_by}" if replaced_by else "") if x)
