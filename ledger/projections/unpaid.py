"""The list a customer pays from (seed 001: "Pay Now ... view all invoices and orders with unpaid balances"):
every open invoice and every open order with a balance due, oldest first."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from ledger.projections.queries import Row, _local, _money, _rows, account_row


def unpaid(db: sqlite3.Connection, account_id: str, zone: ZoneInfo | None = None) -> list[Row]:
    """``[{"kind", "id", "date", "due", "amount", "paid", "open", "currency"}]``: invoices (``date`` the invoice
    date, ``due`` its due date) then orders (``date`` when placed, in the business time zone), each oldest first."""
    acc = account_row(db, account_id)
    invoices = _rows(db, "select 'invoice' as kind, id, issued_on as date, due_on as due, total as amount, paid, open "
                         "from invoice_tab where account = ? and open > 0 order by issued_on, rowid",
                     (acc["account"],))
    orders = _local(_rows(db, "select 'order' as kind, id, placed_at as date, null as due, amount, paid, "
                              "amount - paid as open from orders where account = ? and status = 'open' "
                              "and paid < amount order by placed_at, rowid", (acc["account"],)), zone, "date")
    return _money([*invoices, *orders], acc["currency"], "amount", "paid", "open")
