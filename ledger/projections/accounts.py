"""The ``accounts`` read model: balances, the portal tabs and the CSR dashboard (seeds 000-004).

Tables: accounts, invoices, payments, credits, orders, authorizations, unidentified. Balances are views over
them (balance owed = open invoices; credit = open credits; overdue = open invoices past due in the business
time zone), so they can never disagree with the tabs they summarise.
"""

from __future__ import annotations

import sqlite3
from functools import singledispatchmethod
from typing import Any

from ledger.aggregates import events as ev
from ledger.projections.base import Meta, Projection

TABLES = (
    """create table if not exists accounts (account text primary key, account_id text not null unique,
        currency text not null, email text not null, name text not null, opened_at text not null,
        portal text not null default 'not_invited', autopay integer not null default 0,
        invitation_expires_at text)""",
    """create table if not exists invoices (account text not null, id text not null, issued_on text not null,
        due_on text not null, total integer not null, paid integer not null default 0,
        voided integer not null default 0, order_id text, primary key (account, id))""",
    """create table if not exists payments (account text not null, id text not null, submitted_at text not null,
        method text not null, amount integer not null, status text not null, transaction_id text not null,
        refunded integer not null default 0, settled_at text, decline_code text, primary key (account, id))""",
    "create index if not exists payments_settled on payments (account, settled_at)",
    """create table if not exists credits (account text not null, id text not null, issued_at text not null,
        amount integer not null, remaining integer not null, kind text not null, reference text not null,
        primary key (account, id))""",
    """create table if not exists orders (account text not null, id text not null, placed_at text not null,
        channel text not null, description text not null, amount integer not null,
        paid integer not null default 0, status text not null default 'open', replaced_by text, replaces text,
        manual_processing integer not null default 0, primary key (account, id))""",
    "create index if not exists orders_placed on orders (account, placed_at)",
    """create table if not exists authorizations (account text not null, id text not null, order_id text not null,
        amount integer not null, status text not null, authorized_at text not null, expires_at text not null,
        requested_amount integer, primary key (account, id))""",
    "create index if not exists authorizations_expiry on authorizations (status, expires_at)",
    """create table if not exists unidentified (payment_id text primary key, received_at text not null,
        amount integer not null, currency text not null, method text not null, transaction_id text not null,
        reference text not null, status text not null, note text not null default '', matched_account text)""",
    """create view if not exists invoice_tab as select i.*, a.account_id, a.currency,
        case when voided then 0 else total - paid end as open,
        case when voided then 'void' when paid >= total then 'paid' when paid > 0 then 'partially_paid'
             else 'open' end as status
        from invoices i join accounts a using (account)""",
    """create view if not exists balances as select a.account, a.account_id, a.currency, a.email,
        coalesce((select sum(total - paid) from invoices i where i.account = a.account and not voided), 0)
            as balance,
        coalesce((select sum(remaining) from credits c where c.account = a.account), 0) as credit_balance,
        (select settled_at from payments p where p.account = a.account and settled_at is not null
            order by settled_at desc limit 1) as last_payment_at,
        (select amount from payments p where p.account = a.account and settled_at is not null
            order by settled_at desc limit 1) as last_payment_amount
        from accounts a""",
)


class AccountsProjection(Projection):
    """Per-account tabs, balances and the CSR dashboard."""

    name = "accounts"
    version = 1
    tables = TABLES

    @singledispatchmethod
    def apply(self, event: Any, db: sqlite3.Connection, meta: Meta) -> None:
        """Events this read model does not show are ignored."""

    @apply.register
    def _(self, e: ev.AccountOpened, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("insert into accounts (account, account_id, currency, email, name, opened_at) values "
                   "(?, ?, ?, ?, ?, ?)", (meta.account, e.account_id, e.currency, e.email, e.name,
                                          meta.at))

    @apply.register
    def _(self, e: ev.InvitationSent | ev.InvitationResent, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "accounts", meta.account, None, portal="invited", invitation_expires_at=e.expires_at.isoformat())

    @apply.register
    def _(self, e: ev.InvitationAccepted, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "accounts", meta.account, None, portal="registered")

    @apply.register
    def _(self, e: ev.InvitationExpired, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "accounts", meta.account, None, portal="invitation_expired")

    @apply.register
    def _(self, e: ev.AutopayEnabled | ev.AutopayDisabled, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "accounts", meta.account, None, autopay=int(isinstance(e, ev.AutopayEnabled)))

    @apply.register
    def _(self, e: ev.InvoiceIssued, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("insert into invoices (account, id, issued_on, due_on, total, order_id) values (?, ?, ?, ?, ?, ?)",
                   (meta.account, e.invoice_id, e.issued_on.isoformat(), e.due_on.isoformat(), e.total,
                    e.order_id))
        if e.order_id is not None:
            _set(db, "orders", meta.account, e.order_id, status="invoiced")

    @apply.register
    def _(self, e: ev.InvoiceAdjusted, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "invoices", meta.account, e.invoice_id, total=e.new_total)

    @apply.register
    def _(self, e: ev.InvoiceVoided, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "invoices", meta.account, e.invoice_id, voided=1)

    @apply.register
    def _(self, e: ev.OrderPlaced, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("insert into orders (account, id, placed_at, channel, description, amount) values "
                   "(?, ?, ?, ?, ?, ?)", (meta.account, e.order_id, meta.at, e.channel,
                                          e.description, e.amount))

    @apply.register
    def _(self, e: ev.OrderPriceChanged, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "orders", meta.account, e.order_id, amount=e.new_amount)

    @apply.register
    def _(self, e: ev.OrderCancelled, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "orders", meta.account, e.order_id, status="cancelled")

    @apply.register
    def _(self, e: ev.OrderReplaced, db: sqlite3.Connection, meta: Meta) -> None:
        acc = meta.account
        _set(db, "orders", acc, e.old_order_id, status="replaced", replaced_by=e.new_order_id)
        db.execute("insert into orders (account, id, placed_at, channel, description, amount, replaces) "
                   "select account, ?, ?, channel, description, ?, id from orders where account = ? and id = ?",
                   (e.new_order_id, meta.at, e.amount, acc, e.old_order_id))
        db.execute("update authorizations set order_id = ? where account = ? and order_id = ? and status = 'active'",
                   (e.new_order_id, acc, e.old_order_id))

    @apply.register
    def _(self, e: ev.PaymentSubmitted, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("insert into payments (account, id, submitted_at, method, amount, status, transaction_id) "
                   "values (?, ?, ?, ?, ?, 'pending', ?)", (meta.account, e.payment_id, meta.at,
                                                           e.method, e.amount, e.transaction_id))

    @apply.register
    def _(self, e: ev.PaymentSettled, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "payments", meta.account, e.payment_id, status="settled", settled_at=meta.at)

    @apply.register
    def _(self, e: ev.PaymentDeclined, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "payments", meta.account, e.payment_id, status="declined", decline_code=e.decline_code)

    @apply.register
    def _(self, e: ev.PaymentReturned, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "payments", meta.account, e.payment_id, status="returned", settled_at=None)

    @apply.register
    def _(self, e: ev.PaymentRefunded, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("update payments set refunded = refunded + ? where account = ? and id = ?",
                   (e.amount, meta.account, e.payment_id))

    @apply.register
    def _(self, e: ev.PaymentApplied | ev.CreditApplied, db: sqlite3.Connection, meta: Meta) -> None:
        _paid(db, meta.account, e.target_kind, e.target_id, e.amount)
        if isinstance(e, ev.CreditApplied):
            _credit(db, meta.account, e.credit_id, remaining=-e.amount)

    @apply.register
    def _(self, e: ev.PaymentUnapplied | ev.CreditUnapplied, db: sqlite3.Connection, meta: Meta) -> None:
        _paid(db, meta.account, e.target_kind, e.target_id, -e.amount)
        if isinstance(e, ev.CreditUnapplied):
            _credit(db, meta.account, e.credit_id, remaining=e.amount)

    @apply.register
    def _(self, e: ev.CreditIssued | ev.PaymentDeposited, db: sqlite3.Connection, meta: Meta) -> None:
        kind, reference = ("deposit", f"deposit of payment {e.payment_id}") if isinstance(
            e, ev.PaymentDeposited) else (e.kind, e.reference)
        db.execute("insert into credits (account, id, issued_at, amount, remaining, kind, reference) values "
                   "(?, ?, ?, ?, ?, ?, ?)", (meta.account, e.credit_id, meta.at, e.amount, e.amount,
                                             kind, reference))

    @apply.register
    def _(self, e: ev.CreditReversed, db: sqlite3.Connection, meta: Meta) -> None:
        _credit(db, meta.account, e.credit_id, remaining=-e.amount, amount=-e.amount)

    @apply.register
    def _(self, e: ev.CreditRefunded, db: sqlite3.Connection, meta: Meta) -> None:
        _credit(db, meta.account, e.credit_id, remaining=-e.amount)

    @apply.register
    def _(self, e: ev.CardAuthorized, db: sqlite3.Connection, meta: Meta) -> None:
        _authorization(db, meta.account, e.authorization_id, e.order_id, e.amount, meta.at,
                       e.expires_at.isoformat())

    @apply.register
    def _(self, e: ev.Reauthorized, db: sqlite3.Connection, meta: Meta) -> None:
        acc = meta.account
        _set(db, "authorizations", acc, e.authorization_id, status="reauthorized")
        _authorization(db, acc, e.new_authorization_id, e.order_id, e.amount, meta.at,
                       e.expires_at.isoformat())

    @apply.register
    def _(self, e: ev.ReauthorizationRequested, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "authorizations", meta.account, e.authorization_id, status="reauth_requested",
             requested_amount=e.new_amount)

    @apply.register
    def _(self, e: ev.ReauthorizationFailed, db: sqlite3.Connection, meta: Meta) -> None:
        _set(db, "authorizations", meta.account, e.authorization_id, status="failed")
        _set(db, "orders", meta.account, e.order_id, manual_processing=1)

    @apply.register
    def _(self, e: ev.AuthorizationExpired | ev.AuthorizationCaptured | ev.AuthorizationVoided,
          db: sqlite3.Connection, meta: Meta) -> None:
        status = {"AuthorizationExpired": "expired", "AuthorizationCaptured": "captured",
                  "AuthorizationVoided": "voided"}[type(e).__name__]
        _set(db, "authorizations", meta.account, e.authorization_id, status=status)

    @apply.register
    def _(self, e: ev.PaymentReceivedUnidentified, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("insert into unidentified (payment_id, received_at, amount, currency, method, transaction_id, "
                   "reference, status) values (?, ?, ?, ?, ?, ?, ?, 'awaiting_research')",
                   (e.payment_id, meta.at, e.amount, e.currency, e.method, e.transaction_id,
                    e.reference))

    @apply.register
    def _(self, e: ev.PaymentReferredToAccounting, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("update unidentified set status = 'referred', note = ? where payment_id = ?",
                   (e.note, e.payment_id))

    @apply.register
    def _(self, e: ev.PaymentMatched, db: sqlite3.Connection, meta: Meta) -> None:
        db.execute("update unidentified set status = 'matched', matched_account = ? where payment_id = ?",
                   (e.account_id, e.payment_id))


def _set(db: sqlite3.Connection, table: str, account: str, row_id: str | None, **values: Any) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    where = "account = ?" if row_id is None else "account = ? and id = ?"
    params = (*values.values(), account) if row_id is None else (*values.values(), account, row_id)
    db.execute(f"update {table} set {assignments} where {where}", params)


def _paid(db: sqlite3.Connection, account: str, kind: str, target: str, delta: int) -> None:
    table = "invoices" if kind == "invoice" else "orders"
    db.execute(f"update {table} set paid = paid + ? where account = ? and id = ?",
               (delta, account, target))


def _credit(db: sqlite3.Connection, account: str, credit_id: str, *, remaining: int, amount: int = 0) -> None:
    db.execute("update credits set remaining = remaining + ?, amount = amount + ? where account = ? and id = ?",
               (remaining, amount, account, credit_id))


def _authorization(db: sqlite3.Connection, account: str, auth_id: str, order_id: str, amount: int, at: str,
                   expires: str) -> None:
    db.execute("insert into authorizations (account, id, order_id, amount, status, authorized_at, expires_at) "
               "values (?, ?, ?, ?, 'active', ?, ?)", (account, auth_id, order_id, amount, at, expires))
