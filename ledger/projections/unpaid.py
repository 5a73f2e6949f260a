"""The list a customer pays from (seed 001: "Pay Now ... view all invoices and orders with unpaid balances"):
every open invoice and every open order with a balance due, oldest first, with what pending (ACH) payments will
pay on it: a payment on what they cover is refused (``pending_payment``), and the list says why (issue 14)."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from ledger.projections.queries import Row, _local, _money, _rows, account_row


def _pending(kind: str, open_amount: str) -> str:
    """What the account's pending payments will pay on the row ``t``'s invoice or order, at most its open amount."""
    return (f"min({open_amount}, (select coalesce(sum(json_extract(c.value, '$.amount')), 0) from payments p, "
            "json_each(p.covers) c where p.account = t.account and p.status = 'pending' and "
            f"json_extract(c.value, '$.target_kind') = '{kind}' and json_extract(c.value, '$.target_id') = t.id)) "
            "as pending")


def unpaid(db: sqlite3.Connection, account_id: str, zone: ZoneInfo | None = None) -> list[Row]:
    """``[{"kind", "id", "date", "due", "amount", "paid", "open", "pending", "currency"}]``: invoices (``date``
    the invoice date, ``due`` its due date) then orders (``date`` when placed, in the business time zone), each
    oldest first; ``pending``: what pending payments will pay on it (all of ``open``: nothing to pay now)."""
    acc = account_row(db, account_id)
    invoices = _rows(db, "select 'invoice' as kind, id, issued_on as date, due_on as due, total as amount, paid, "
                         f"open, {_pending('invoice', 'open')} from invoice_tab t where account = ? and open > 0 "
                         "order by issued_on, rowid", (acc["account"],))
    orders = _local(_rows(db, "select 'order' as kind, id, placed_at as date, null as due, amount, paid, "
                              f"amount - paid as open, {_pending('order', 'amount - paid')} from orders t "
                              "where account = ? and status = 'open' and paid < amount order by placed_at, rowid",
                          (acc["account"],)), zone, "date")
    _unplanned(db, acc["account"], invoices)
    _moved(db, acc["account"], [*invoices, *orders])
    return _money([*invoices, *orders], acc["currency"], "amount", "paid", "open", "pending")


def _unplanned(db: sqlite3.Connection, account: str, invoices: list[Row]) -> None:
    """Add to ``invoices`` (oldest first) what the pending distributions recorded before plans (PaymentSubmitted
    2, ``covers`` null) will pay: the oldest invoices the other pending payments leave due, in the order they were
    submitted, as the ledger reads them (:meth:`ledger.aggregates.state.AccountState.pending_lines`)."""
    for (amount,) in db.execute("select amount from payments where account = ? and status = 'pending' and "
                                "covers = 'null' order by submitted_at, rowid", (account,)).fetchall():
        for row in invoices:
            take = min(amount, row["open"] - row["pending"])
            if take > 0:
                row["pending"] += take
                amount -= take


def _moved(db: sqlite3.Connection, account: str, rows: list[Row]) -> None:
    """Add to the invoice and order ``rows`` what pending payments meant for an order replaced or invoiced since
    will pay on where its money went, at most the open amount, as the ledger counts them
    (:meth:`ledger.aggregates.state.AccountState.successor`)."""
    successor = dict(db.execute("select id, replaced_by from orders where account = ? and replaced_by is not null",
                                (account,)).fetchall())
    invoiced = dict(db.execute("select order_id, id from invoice_tab where account = ? and order_id is not null "
                               "and voided = 0", (account,)).fetchall())
    if not (successor or invoiced):
        return
    found = {(row["kind"], row["id"]): row for row in rows}
    lines = db.execute("select json_extract(c.value, '$.target_id'), json_extract(c.value, '$.amount') from "
                       "payments p, json_each(p.covers) c where p.account = ? and p.status = 'pending' and "
                       "json_extract(c.value, '$.target_kind') = 'order'", (account,)).fetchall()
    for target, amount in lines:
        moved = target in successor or target in invoiced
        while target in successor:
            target = successor[target]
        row = found.get(("invoice", invoiced[target]) if target in invoiced else ("order", target))
        if moved and row is not None:
            row["pending"] = min(row["open"], row["pending"] + amount)
