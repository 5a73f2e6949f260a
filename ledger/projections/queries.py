"""Read queries over the projections: portal tabs, order history, the CSR dashboard, the audit log.

Dates and "last 30 days / 3 months / 6 months / year" filters are computed in the business time zone.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.aggregates.events.base import event_uuid
from ledger.errors import NotFound, ValidationError
from ledger.money import format_amount
from ledger.ports.clock import start_of_business_day

Row = dict[str, Any]
PERIODS = ("30d", "3m", "6m", "year")


def _rows(db: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    return [dict(r) for r in db.execute(sql, params)]


def _money(rows: list[Row], currency_of: dict[str, str] | str, *fields: str) -> list[Row]:
    for row in rows:
        currency = currency_of if isinstance(currency_of, str) else currency_of.get(row.get("account", ""), "USD")
        for name in fields:
            if row.get(name) is not None:
                row[name] = format_amount(int(row[name]), currency)
    return rows


def account_row(db: sqlite3.Connection, account_id: str) -> Row:
    """The account's row, or NotFound naming ``account``."""
    row = db.execute("select * from accounts where account_id = ?", (account_id,)).fetchone()
    if row is None:
        raise NotFound(f"no account {account_id}", field="account")
    return dict(row)


def balance(db: sqlite3.Connection, account_id: str, today: date) -> Row:
    """Balance owed, credit, last payment and overdue amount of one account (portal dashboard header)."""
    acc = account_row(db, account_id)
    row = dict(db.execute("select * from balances where account = ?", (acc["account"],)).fetchone())
    overdue = db.execute("select coalesce(sum(total - paid), 0) from invoices where account = ? and not voided "
                         "and due_on < ?", (acc["account"], today.isoformat())).fetchone()[0]
    row["overdue"] = overdue
    return _money([row], acc["currency"], "balance", "credit_balance", "last_payment_amount", "overdue")[0]


def invoices(db: sqlite3.Connection, account_id: str, status: str | None = None) -> list[Row]:
    """The invoices tab, oldest first, optionally filtered by status (open, partially_paid, paid, void, unpaid)."""
    acc = account_row(db, account_id)
    sql = ("select id, issued_on as date, due_on as due, total, paid, open, status, order_id from invoice_tab "
           "where account = ?")
    params: tuple[Any, ...] = (acc["account"],)
    if status == "unpaid":
        sql += " and status in ('open', 'partially_paid')"
    elif status:
        sql += " and status = ?"
        params += (status,)
    return _money(_rows(db, sql + " order by issued_on, rowid", params), acc["currency"], "total", "paid", "open")


def payments(db: sqlite3.Connection, account_id: str) -> list[Row]:
    """The payments tab, newest first."""
    acc = account_row(db, account_id)
    rows = _rows(db, "select id, submitted_at as date, method, amount, status, transaction_id, refunded "
                     "from payments where account = ? order by submitted_at desc, rowid desc", (acc["account"],))
    return _money(rows, acc["currency"], "amount", "refunded")


def credits(db: sqlite3.Connection, account_id: str) -> list[Row]:
    """The credits tab: id, date, amount, remaining, currency, reference."""
    acc = account_row(db, account_id)
    rows = _rows(db, "select id, issued_at as date, amount, remaining, kind, reference from credits "
                     "where account = ? order by rowid", (acc["account"],))
    for row in rows:
        row["currency"] = acc["currency"]
    return _money(rows, acc["currency"], "amount", "remaining")


def period_start(period: str, now: datetime, zone: ZoneInfo, year: int | None = None) -> tuple[datetime, datetime]:
    """[start, end) of an order-history filter, at business-day boundaries (seed 001)."""
    today = now.astimezone(zone).date()
    if period == "year":
        chosen = year or today.year
        return (start_of_business_day(date(chosen, 1, 1), zone), start_of_business_day(date(chosen + 1, 1, 1), zone))
    months = {"3m": 3, "6m": 6}.get(period)
    if period == "30d":
        first = today - timedelta(days=30)
    elif months is not None:
        month_index = today.year * 12 + today.month - 1 - months
        first_day = min(today.day, 28)
        first = date(month_index // 12, month_index % 12 + 1, first_day)
    else:
        raise ValidationError(f"period must be one of {', '.join(PERIODS)}", field="period")
    return start_of_business_day(first, zone), datetime.max.replace(tzinfo=UTC)


def order_history(db: sqlite3.Connection, account_id: str, period: str | None, now: datetime, zone: ZoneInfo,
                  year: int | None = None) -> list[Row]:
    """Orders from every channel (web, POS, phone, CSR), newest first, optionally within a period."""
    acc = account_row(db, account_id)
    sql = ("select id, placed_at as date, channel, amount, paid, status, replaced_by, replaces, manual_processing "
           "from orders where account = ?")
    params: tuple[Any, ...] = (acc["account"],)
    if period:
        start, end = period_start(period, now, zone, year)
        sql += " and placed_at >= ? and placed_at < ?"
        params += (start.isoformat(), end.isoformat())
    return _money(_rows(db, sql + " order by placed_at desc, rowid desc", params), acc["currency"], "amount", "paid")


def dashboard(db: sqlite3.Connection, now: datetime, within_days: int = 3) -> dict[str, list[Row]]:
    """The CSR dashboard: unpaid orders, holds expiring within N days, failed reauthorizations, research."""
    currencies = {r["account"]: r["currency"] for r in db.execute("select account, currency from accounts")}
    horizon = (now + timedelta(days=within_days)).isoformat()
    expiring = _rows(db, "select a.account_id as customer, z.account, z.id as authorization, z.order_id as 'order', "
                         "z.amount, z.status, z.expires_at from authorizations z join accounts a using (account) "
                         "where z.status in ('active', 'reauth_requested') and z.expires_at <= ? "
                         "order by z.expires_at", (horizon,))
    unpaid = _rows(db, "select a.account_id as customer, o.account, o.id as 'order', o.channel, o.amount, o.paid, "
                       "o.amount - o.paid as due, o.placed_at from orders o join accounts a using (account) "
                       "where o.status = 'open' and o.paid < o.amount order by o.placed_at", ())
    manual = _rows(db, "select a.account_id as customer, o.account, o.id as 'order', o.amount, o.paid "
                       "from orders o join accounts a using (account) where o.manual_processing = 1 "
                       "and o.status = 'open' order by o.placed_at", ())
    research = _rows(db, "select payment_id, received_at, amount, currency, method, transaction_id, reference, "
                         "status, note from unidentified where status != 'matched' order by received_at", ())
    for row in research:
        row["amount"] = format_amount(int(row["amount"]), row["currency"])
    for row in (*expiring, *unpaid, *manual):
        row["currency"] = currencies.get(row["account"], "")
    _money(expiring, currencies, "amount")
    _money(unpaid, currencies, "amount", "paid", "due")
    _money(manual, currencies, "amount", "paid")
    for row in (*expiring, *unpaid, *manual):
        del row["account"]
    return {
        "expiring_authorizations": expiring,
        "unpaid_orders": unpaid,
        "manual_processing": manual,
        "awaiting_research": research,
    }


def audit_log(db: sqlite3.Connection, *, account_id: str | None = None, actor: str | None = None,
              since: datetime | None = None, until: datetime | None = None, limit: int = 200) -> list[Row]:
    """Audit rows, newest last, filterable by account, actor name and period [since, until)."""
    sql = "select position, account, version, at, actor_kind, actor_name, channel, account_id, event, comment, " \
          "details from audit_log where 1 = 1"
    params: tuple[Any, ...] = ()
    for clause, value in (("account_id = ?", account_id), ("actor_name = ?", actor),
                          ("at >= ?", since.isoformat() if since else None),
                          ("at < ?", until.isoformat() if until else None)):
        if value is not None:
            sql += f" and {clause}"
            params += (value,)
    rows = _rows(db, f"select * from ({sql} order by position desc limit ?) order by position", (*params, limit))
    for row in rows:
        row["event_id"] = event_uuid(UUID(row.pop("account")), row.pop("version"))
    return rows
