"""Read queries over the accounts read model: portal tabs, order history, the CSR dashboard (the audit log's are
in :mod:`ledger.projections.audit_queries`).

Dates and "last 30 days / 3 months / 6 months / year" filters are computed in the business time zone, and the
instants a query returns are shown there too (seed 002), as ``account show`` shows them: ISO-8601 with the
zone's offset, to the second (``2026-09-01T23:30:00-04:00``). The projections keep storing UTC text; only the
rows handed out are converted, so filters and ordering still run on the stored text. A ``zone`` left out is
DEFAULT_ZONE, as in ``ledger.views.account_view``; the CLI and the service pass the configured LEDGER_TIMEZONE.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from ledger.errors import NotFound, ValidationError
from ledger.money import format_amount
from ledger.ports.clock import DEFAULT_ZONE, business_date, local_text
from ledger.projections.base import SqlValue
from ledger.projections.periods import MONTHS, PERIODS, TICK, months_before, period_start
from ledger.projections.sums import joined, split_sum
from ledger.views import payment_status

__all__ = ["MONTHS", "PERIODS", "local_text", "months_before", "period_start"]  # the CLI's --period choices, tests

#: A row handed out, keyed by column: read from SQLite, then shown (amounts as decimals, instants in the zone).
Row = dict[str, Any]


def _rows(db: sqlite3.Connection, sql: str, params: tuple[SqlValue, ...]) -> list[Row]:
    return [dict(r) for r in db.execute(sql, params)]


def _money(rows: list[Row], currency_of: dict[str, str] | str, *fields: str) -> list[Row]:
    """Amount ``fields`` as decimals of each row's currency, which the row then names (``currency``): 10000 is
    100.00 USD or 10000 JPY, and a reader of the JSON cannot tell which without it."""
    for row in rows:
        currency = currency_of if isinstance(currency_of, str) else currency_of.get(row.get("account", ""), "USD")
        for name in fields:
            if row.get(name) is not None:
                row[name] = format_amount(int(row[name]), currency)
        row.setdefault("currency", currency)
    return rows


def _local(rows: list[Row], zone: ZoneInfo | None, *fields: str) -> list[Row]:
    tz = zone or ZoneInfo(DEFAULT_ZONE)
    for row in rows:
        for name in fields:
            if row.get(name) is not None:
                row[name] = local_text(row[name], tz)
    return rows


def _utc_text(moment: datetime) -> str:
    """An aware instant spelt as the projections store it (UTC ``isoformat``), so text comparisons hold."""
    return moment.astimezone(UTC).isoformat()


def account_row(db: sqlite3.Connection, account_id: str) -> Row:
    """The account's row, or NotFound naming ``account``."""
    row = db.execute("select * from accounts where account_id = ?", (account_id,)).fetchone()
    if row is None:
        raise NotFound(f"no account {account_id}", field="account")
    return dict(row)


def balance(db: sqlite3.Connection, account_id: str, today: date, zone: ZoneInfo | None = None) -> Row:
    """Balance owed on invoices, owed on open orders (``orders_due``), credit, last payment and overdue amount of
    one account (portal dashboard header)."""
    acc = account_row(db, account_id)
    stored = dict(db.execute("select * from balances where account = ?", (acc["account"],)).fetchone())
    row = {"account_id": stored["account_id"], "currency": stored["currency"], "email": stored["email"],
           "balance": joined(stored, "balance"), "orders_due": joined(stored, "orders_due"),
           "credit_balance": joined(stored, "credit_balance"),
           "last_payment_at": stored["last_payment_at"], "last_payment_amount": stored["last_payment_amount"]}
    overdue = db.execute(f"select {split_sum('total - paid', 'overdue')} from invoices where account = ? and not "
                         f"voided and due_on < ?", (acc["account"], today.isoformat())).fetchone()
    row["overdue"] = joined(overdue, "overdue")
    _local([row], zone, "last_payment_at")
    return _money([row], acc["currency"], "balance", "orders_due", "credit_balance", "last_payment_amount",
                  "overdue")[0]


#: The invoices tab's filters: a status, or ``unpaid`` (open or partially paid).
INVOICE_STATUSES = ("open", "partially_paid", "paid", "void", "unpaid")


def invoices(db: sqlite3.Connection, account_id: str, status: str | None = None) -> list[Row]:
    """The invoices tab, oldest first, optionally filtered by status (open, partially_paid, paid, void, unpaid)."""
    acc = account_row(db, account_id)
    if status is not None and status not in INVOICE_STATUSES:
        raise ValidationError(f"unknown invoice status {status[:40]!r} (one of {', '.join(INVOICE_STATUSES)})",
                              field="status", code="unknown_status")
    sql = ("select id, issued_on as date, due_on as due, total, paid, open, status, order_id from invoice_tab "
           "where account = ?")
    params: tuple[SqlValue, ...] = (acc["account"],)
    if status == "unpaid":
        sql += " and status in ('open', 'partially_paid')"
    elif status:
        sql += " and status = ?"
        params += (status,)
    return _money(_rows(db, sql + " order by issued_on, rowid", params), acc["currency"], "total", "paid", "open")


def payments(db: sqlite3.Connection, account_id: str, zone: ZoneInfo | None = None) -> list[Row]:
    """The payments tab, newest first; ``date`` in the business time zone."""
    acc = account_row(db, account_id)
    rows = _rows(db, "select id, submitted_at as date, method, amount, status, transaction_id, refunded "
                     "from payments where account = ? order by submitted_at desc, rowid desc", (acc["account"],))
    for row in rows:
        row["status"] = payment_status(row["status"], row["amount"], row["refunded"])
    return _money(_local(rows, zone, "date"), acc["currency"], "amount", "refunded")


def credits(db: sqlite3.Connection, account_id: str, zone: ZoneInfo | None = None) -> list[Row]:
    """The credits tab: id, date (business time zone), amount, remaining, kind, reference, currency."""
    acc = account_row(db, account_id)
    rows = _rows(db, "select id, issued_at as date, amount, remaining, kind, reference from credits "
                     "where account = ? order by rowid", (acc["account"],))
    return _money(_local(rows, zone, "date"), acc["currency"], "amount", "remaining")


def order_history(db: sqlite3.Connection, account_id: str, period: str | None, now: datetime, zone: ZoneInfo,
                  year: int | None = None) -> list[Row]:
    """Orders from every channel (web, POS, phone, CSR) and invoices, newest first, optionally within a period
    (seed 001: "All sales order and invoices will be listed including those entered ... via POS and Order Entry").

    ``kind`` tells them apart; an order's ``items`` are its lines (sku, description, quantity, unit_price), an
    invoice's none. An order's ``date`` is when it was placed (in the business time zone), an
    invoice's its invoice date, and an invoice's ``channel`` is its order's (empty for one with no order).
    A ``year`` without a period means the period "year" (``--year 2025`` alone is 2025's).
    """
    acc = account_row(db, account_id)
    orders = ("select 'order' as kind, id, placed_at as date, channel, amount, paid, status, replaced_by, replaces, "
              "manual_processing, null as \"order\", items from orders where account = ?")
    invoices = ("select 'invoice' as kind, i.id, i.issued_on as date, coalesce(o.channel, '') as channel, "
                "i.total as amount, i.paid, i.status, null as replaced_by, null as replaces, 0 as manual_processing, "
                "i.order_id as \"order\", '[]' as items from invoice_tab i left join orders o "
                "on o.account = i.account and o.id = i.order_id where i.account = ?")
    order_params: tuple[SqlValue, ...] = (acc["account"],)
    invoice_params = order_params
    if period or year is not None:
        start, end = period_start(period or "year", now, zone, year)
        orders += " and placed_at >= ? and placed_at < ?"
        order_params += (_utc_text(start), _utc_text(end))
        invoices += " and i.issued_on >= ? and i.issued_on <= ?"
        invoice_params += (business_date(start, zone).isoformat(), business_date(end - TICK, zone).isoformat())
    rows = _local(_rows(db, orders + " order by placed_at desc, rowid desc", order_params), zone, "date")
    rows += _rows(db, invoices, invoice_params)
    rows.sort(key=lambda row: row["date"], reverse=True)  # stable: orders keep their order; same day, orders first
    for row in rows:
        row["manual_processing"] = bool(row["manual_processing"])  # true/false, as in ``account show``
        row["items"] = [{**item, "unit_price": format_amount(item["unit_price"], acc["currency"])}
                        for item in msgspec.json.decode(row["items"])]
    return _money(rows, acc["currency"], "amount", "paid")


def dashboard(db: sqlite3.Connection, now: datetime, within_days: int = 3,
              zone: ZoneInfo | None = None) -> dict[str, list[Row]]:
    """The CSR dashboard: unpaid orders, holds expiring within N days, failed reauthorizations, research.

    A hold already past its expiry that the expiry worker has not marked yet (it runs every 30 s in ``serve``;
    a CLI run ``--at`` a later instant runs no worker) is listed first, with the status ``expired``. A hold past
    its expiry stays listed (``expired``, or ``reauth_requested`` once its cart link was sent again) while its
    order is open and unpaid, until it is reauthorized or voided (seed 004: it needs the CSR most).

    Instants (``expires_at``, ``placed_at``, ``received_at``) are in the business time zone.
    """
    currencies = {r["account"]: r["currency"] for r in db.execute("select account, currency from accounts")}
    horizon = _utc_text(now + timedelta(days=within_days))
    now_text = _utc_text(now)
    expiring = _rows(db, "select a.account_id as customer, z.account, z.id as authorization, z.order_id as 'order', "
                         "z.amount, z.status, z.expires_at from authorizations z join accounts a using (account) "
                         "left join orders o on o.account = z.account and o.id = z.order_id "
                         "where z.status in ('active', 'reauth_requested', 'expired') and z.expires_at <= ? "
                         "and (z.expires_at > ? or (o.status = 'open' and o.paid < o.amount)) "
                         "order by z.expires_at", (horizon, now_text))
    unpaid = _rows(db, "select a.account_id as customer, o.account, o.id as 'order', o.channel, o.amount, o.paid, "
                       "o.amount - o.paid as due, o.placed_at from orders o join accounts a using (account) "
                       "where o.status = 'open' and o.paid < o.amount order by o.placed_at", ())
    manual = _rows(db, "select a.account_id as customer, o.account, o.id as 'order', o.amount, o.paid "
                       "from orders o join accounts a using (account) where o.manual_processing = 1 "
                       "and o.status = 'open' and o.paid < o.amount order by o.placed_at", ())
    autopay = _rows(db, "select a.account_id as customer, i.account, i.id as invoice, i.total - i.paid as open, "
                        "i.due_on as due, i.autopay_failed as reason from invoices i join accounts a using (account) "
                        "where i.autopay_failed is not null and not i.voided and i.paid < i.total "
                        "order by i.due_on, i.rowid", ())
    research = _rows(db, "select payment_id, received_at, amount, currency, method, transaction_id, reference, "
                         "status, note from unidentified where status != 'matched' order by received_at", ())
    for row in expiring:  # past its expiry, not yet marked by the expiry worker: the hold is gone already
        if row["status"] == "active" and row["expires_at"] <= now_text:
            row["status"] = "expired"
    for row in research:
        row["amount"] = format_amount(int(row["amount"]), row["currency"])
    for row in (*expiring, *unpaid, *manual, *autopay):
        row["currency"] = currencies.get(row["account"], "")
    _money(expiring, currencies, "amount")
    _money(unpaid, currencies, "amount", "paid", "due")
    _money(manual, currencies, "amount", "paid")
    _money(autopay, currencies, "open")
    for row in (*expiring, *unpaid, *manual, *autopay):
        del row["account"]
    return {
        "expiring_authorizations": _local(expiring, zone, "expires_at"),
        "unpaid_orders": _local(unpaid, zone, "placed_at"),
        "manual_processing": manual,
        "autopay_failed": autopay,
        "awaiting_research": _local(research, zone, "received_at"),
    }


def due_authorizations(db: sqlite3.Connection, now: datetime) -> list[tuple[str, str]]:
    """(account id, authorization id) of every live hold past its expiry at ``now`` (the expiry scheduler)."""
    return [(r[0], r[1]) for r in db.execute(
        "select a.account_id, z.id from authorizations z join accounts a using (account) "
        "where z.status in ('active', 'reauth_requested') and z.expired = 0 and z.expires_at <= ?",
        (now.isoformat(),))]


def expired_invitations(db: sqlite3.Connection, now: datetime) -> list[str]:
    """Account ids of portal invitations still open past their 72 hours at ``now`` (the expiry scheduler)."""
    return [r[0] for r in db.execute("select account_id from accounts where portal = 'invited' and "
                                     "invitation_expires_at <= ?", (now.isoformat(),))]


def ach_payments(db: sqlite3.Connection, settled_since: datetime | None) -> list[tuple[str, str, str, str]]:
    """(account id, payment id, gateway transaction id, status) of every ACH payment still pending and, with
    ``settled_since``, of those settled since then, oldest first (the scheduler asks the gateway about them)."""
    watched = "p.status = 'pending'"
    params: tuple[str, ...] = ()
    if settled_since is not None:
        watched += " or (p.status = 'settled' and p.settled_at >= ?)"
        params = (_utc_text(settled_since),)
    return [(r[0], r[1], r[2], r[3]) for r in db.execute(
        "select a.account_id, p.id, p.transaction_id, p.status from payments p join accounts a using (account) "
        f"where p.method = 'ach' and ({watched}) order by p.submitted_at, p.rowid", params)]


def account_balances(db: sqlite3.Connection) -> list[tuple[str, str, int, int, int]]:
    """(account id, currency, balance, credit balance, open invoices) of every account, by account id (the
    ``accounts`` read model as of an instant: ``replay balances``)."""
    return [(r["account_id"], r["currency"], joined(r, "balance"), joined(r, "credit_balance"),
             int(r["open_invoices"])) for r in db.execute(
        "select b.account_id, b.currency, b.balance_high, b.balance_low, b.credit_balance_high, "
        "b.credit_balance_low, (select count(*) from invoices i where i.account = b.account and not i.voided "
        "and i.total - i.paid > 0) as open_invoices from balances b order by b.account_id")]
