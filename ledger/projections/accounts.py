"""The ``accounts`` read model: balances, the portal tabs and the CSR dashboard (seeds 000-004).

Tables: accounts, invoices, payments, credits, orders, authorizations, unidentified. Balances are views over
them (balance owed = open invoices; credit = open credits; overdue = open invoices past due in the business
time zone), so they can never disagree with the tabs they summarise.
"""

from __future__ import annotations

import sqlite3
from functools import singledispatchmethod
from typing import cast

import msgspec

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.aggregates.evolve_payments import deposit_reference
from ledger.aggregates.state import LIVE_HOLDS
from ledger.projections.accounts_layout import COLUMNS, KEYS, LAYOUT
from ledger.projections.base import Meta, Projection
from ledger.projections.rows import Table


def _items_json(items: tuple[ev.OrderItem, ...]) -> str:
    """An order's lines as the JSON text of its ``items`` column."""
    return msgspec.json.encode(items).decode()


def _covers(e: ev.PaymentSubmitted) -> str:
    """What a payment will pay, as the JSON text of its ``covers`` column: its explicit lines and its plan;
    ``null`` for a distribution recorded before plans (PaymentSubmitted 2), which the Pay Now list reads as the
    ledger does (:func:`ledger.projections.unpaid.unpaid`)."""
    if e.planned is None and e.instruction.mode == "distribute":
        return "null"
    return msgspec.json.encode((*e.instruction.lines, *(e.planned or ()))).decode()


def _tables() -> dict[str, Table]:
    return {name: Table(name, columns, KEYS[name]) for name, columns in COLUMNS.items()}


class AccountsProjection(Projection):
    """Per-account tabs, balances and the CSR dashboard."""

    name = "accounts"
    #: 4: a hold's expiry, once recorded, is kept (``expired``) whatever its status becomes; an invoice autopay
    #:    could not pay says why (``autopay_failed``); the balances name what is owed on orders (issue 14).
    #: 5: the balances' sums in two 32-bit halves, exact past 2**63 (issue 15).
    #: 6: orders keep their line items (JSON).
    #: 7: a card held for an order takes it off manual processing, whoever placed the hold (a CSR by phone).
    #: 8: an expiry recorded after the hold's cart link was sent keeps ``reauth_requested`` (issue 14).
    #: 9: a payment keeps what it will pay (``covers``, JSON lines: its explicit lines, or what a pending
    #:    distribution planned), so the Pay Now list says what is pending on each invoice and order (issue 14).
    #: 10: a distribution recorded before plans (PaymentSubmitted 2) keeps ``covers`` null, so the Pay Now list
    #:    reads it as paying the oldest invoices the other pending payments leave due (review finding 12).
    version = 10
    layout = LAYOUT

    def __init__(self) -> None:
        t = _tables()
        self.t = t
        self.accounts, self.invoices, self.payments = t["accounts"], t["invoices"], t["payments"]
        self.credits, self.orders, self.authorizations = t["credits"], t["orders"], t["authorizations"]
        self.unidentified = t["unidentified"]

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Write the rows the batch changed."""
        for table in self.t.values():
            table.flush(db)

    @singledispatchmethod
    def apply(self, event: Event, db: sqlite3.Connection, meta: Meta) -> None:
        """Events this read model does not show are ignored."""

    @apply.register
    def _(self, e: ev.AccountOpened, db: sqlite3.Connection, meta: Meta) -> None:
        self.accounts.insert((meta.account,), account=meta.account, account_id=e.account_id, currency=e.currency,
                             email=e.email, name=e.name, opened_at=meta.at, portal="not_invited", autopay=0)

    @apply.register
    def _(self, e: ev.InvitationSent | ev.InvitationResent, db: sqlite3.Connection, meta: Meta) -> None:
        self.accounts.update(db, (meta.account,), portal="invited", invitation_expires_at=e.expires_at.isoformat())

    @apply.register
    def _(self, e: ev.InvitationAccepted, db: sqlite3.Connection, meta: Meta) -> None:
        self.accounts.update(db, (meta.account,), portal="registered")

    @apply.register
    def _(self, e: ev.InvitationExpired, db: sqlite3.Connection, meta: Meta) -> None:
        self.accounts.update(db, (meta.account,), portal="invitation_expired")

    @apply.register
    def _(self, e: ev.AutopayEnabled | ev.AutopayDisabled, db: sqlite3.Connection, meta: Meta) -> None:
        self.accounts.update(db, (meta.account,), autopay=int(isinstance(e, ev.AutopayEnabled)))

    @apply.register
    def _(self, e: ev.InvoiceIssued, db: sqlite3.Connection, meta: Meta) -> None:
        self.invoices.insert((meta.account, e.invoice_id), account=meta.account, id=e.invoice_id,
                             issued_on=e.issued_on.isoformat(), due_on=e.due_on.isoformat(), total=e.total, paid=0,
                             voided=0, order_id=e.order_id)
        if e.order_id is not None:
            self.orders.update(db, (meta.account, e.order_id), status="invoiced")

    @apply.register
    def _(self, e: ev.InvoiceAdjusted, db: sqlite3.Connection, meta: Meta) -> None:
        self.invoices.update(db, (meta.account, e.invoice_id), total=e.new_total)

    @apply.register
    def _(self, e: ev.InvoiceVoided, db: sqlite3.Connection, meta: Meta) -> None:
        self.invoices.update(db, (meta.account, e.invoice_id), voided=1)

    @apply.register
    def _(self, e: ev.OrderPlaced, db: sqlite3.Connection, meta: Meta) -> None:
        self._order(meta.account, e.order_id, meta.at, e.channel, e.description, e.amount, None,
                    _items_json(e.items))

    @apply.register
    def _(self, e: ev.OrderPriceChanged, db: sqlite3.Connection, meta: Meta) -> None:
        self.orders.update(db, (meta.account, e.order_id), amount=e.new_amount)

    @apply.register
    def _(self, e: ev.OrderCancelled, db: sqlite3.Connection, meta: Meta) -> None:
        self.orders.update(db, (meta.account, e.order_id), status="cancelled")

    @apply.register
    def _(self, e: ev.OrderReplaced, db: sqlite3.Connection, meta: Meta) -> None:
        acc, orders = meta.account, self.orders
        old = orders.get(db, (acc, e.old_order_id))
        orders.update(db, (acc, e.old_order_id), status="replaced", replaced_by=e.new_order_id)
        if old is not None:
            at = orders.position
            self._order(acc, e.new_order_id, meta.at, cast(str, old[at["channel"]]),
                        cast(str, old[at["description"]]), e.amount, e.old_order_id, cast(str, old[at["items"]]))
        holds = self.authorizations
        holds.flush(db)  # the holds of the old order, wherever they are, move to the new one
        for (hold_id,) in db.execute(f"select id from authorizations where account = ? and order_id = ? and "
                                     f"status in {LIVE_HOLDS}", (acc, e.old_order_id)).fetchall():
            holds.update(db, (acc, hold_id), order_id=e.new_order_id)

    @apply.register
    def _(self, e: ev.PaymentSubmitted, db: sqlite3.Connection, meta: Meta) -> None:
        self.payments.insert((meta.account, e.payment_id), account=meta.account, id=e.payment_id,
                             submitted_at=meta.at, method=e.method, amount=e.amount, status="pending",
                             transaction_id=e.transaction_id, refunded=0,
                             covers=_covers(e))

    @apply.register
    def _(self, e: ev.PaymentSettled, db: sqlite3.Connection, meta: Meta) -> None:
        self.payments.update(db, (meta.account, e.payment_id), status="settled", settled_at=meta.at)

    @apply.register
    def _(self, e: ev.PaymentDeclined, db: sqlite3.Connection, meta: Meta) -> None:
        self.payments.update(db, (meta.account, e.payment_id), status="declined", decline_code=e.decline_code)

    @apply.register
    def _(self, e: ev.PaymentReturned, db: sqlite3.Connection, meta: Meta) -> None:
        self.payments.update(db, (meta.account, e.payment_id), status="returned", settled_at=None)

    @apply.register
    def _(self, e: ev.PaymentRefunded, db: sqlite3.Connection, meta: Meta) -> None:
        self.payments.add(db, (meta.account, e.payment_id), refunded=e.amount)

    @apply.register
    def _(self, e: ev.PaymentApplied | ev.CreditApplied, db: sqlite3.Connection, meta: Meta) -> None:
        self._paid(db, meta.account, e.target_kind, e.target_id, e.amount)
        if isinstance(e, ev.CreditApplied):
            self.credits.add(db, (meta.account, e.credit_id), remaining=-e.amount)

    @apply.register
    def _(self, e: ev.PaymentUnapplied | ev.CreditUnapplied, db: sqlite3.Connection, meta: Meta) -> None:
        self._paid(db, meta.account, e.target_kind, e.target_id, -e.amount)
        if isinstance(e, ev.CreditUnapplied):
            self.credits.add(db, (meta.account, e.credit_id), remaining=e.amount)

    @apply.register
    def _(self, e: ev.CreditIssued | ev.PaymentDeposited, db: sqlite3.Connection, meta: Meta) -> None:
        kind, reference = ("deposit", deposit_reference(e)) if isinstance(
            e, ev.PaymentDeposited) else (e.kind, e.reference)
        self.credits.insert((meta.account, e.credit_id), account=meta.account, id=e.credit_id, issued_at=meta.at,
                            amount=e.amount, remaining=e.amount, kind=kind, reference=reference)

    @apply.register
    def _(self, e: ev.CreditReversed, db: sqlite3.Connection, meta: Meta) -> None:
        self.credits.add(db, (meta.account, e.credit_id), remaining=-e.amount, amount=-e.amount)

    @apply.register
    def _(self, e: ev.CreditRefunded, db: sqlite3.Connection, meta: Meta) -> None:
        self.credits.add(db, (meta.account, e.credit_id), remaining=-e.amount)

    @apply.register
    def _(self, e: ev.CardAuthorized, db: sqlite3.Connection, meta: Meta) -> None:
        self._hold(meta.account, e.authorization_id, e.order_id, e.amount, meta.at, e.expires_at.isoformat())
        self.orders.update(db, (meta.account, e.order_id), manual_processing=0)  # a decline was resolved

    @apply.register
    def _(self, e: ev.Reauthorized, db: sqlite3.Connection, meta: Meta) -> None:
        self.authorizations.update(db, (meta.account, e.authorization_id), status="reauthorized")
        self._hold(meta.account, e.new_authorization_id, e.order_id, e.amount, meta.at, e.expires_at.isoformat())
        self.orders.update(db, (meta.account, e.order_id), manual_processing=0)  # the failure was resolved

    @apply.register
    def _(self, e: ev.ReauthorizationRequested, db: sqlite3.Connection, meta: Meta) -> None:
        self.authorizations.update(db, (meta.account, e.authorization_id), status="reauth_requested",
                                   requested_amount=e.new_amount)

    @apply.register
    def _(self, e: ev.ReauthorizationFailed | ev.CardAuthorizationFailed, db: sqlite3.Connection, meta: Meta) -> None:
        """The CSR team processes the order by hand (seed 004); a first cart's decline placed no hold."""
        if isinstance(e, ev.ReauthorizationFailed):
            self.authorizations.update(db, (meta.account, e.authorization_id), status="failed")
        self.orders.update(db, (meta.account, e.order_id), manual_processing=1)

    @apply.register
    def _(self, e: ev.AuthorizationExpired | ev.AuthorizationCaptured | ev.AuthorizationVoided,
          db: sqlite3.Connection, meta: Meta) -> None:
        status = {"AuthorizationExpired": "expired", "AuthorizationCaptured": "captured",
                  "AuthorizationVoided": "voided"}[type(e).__name__]
        key = (meta.account, e.authorization_id)
        if isinstance(e, ev.AuthorizationExpired):  # a cart link already sent stays awaited (issue 14)
            row = self.authorizations.get(db, key)
            if row is not None and row[self.authorizations.position["status"]] == "reauth_requested":
                status = "reauth_requested"
            self.authorizations.update(db, key, expired=1)
        self.authorizations.update(db, key, status=status)

    @apply.register
    def _(self, e: ev.AutopayFailed, db: sqlite3.Connection, meta: Meta) -> None:
        self.invoices.update(db, (meta.account, e.invoice_id), autopay_failed=e.reason)

    @apply.register
    def _(self, e: ev.PaymentReceivedUnidentified, db: sqlite3.Connection, meta: Meta) -> None:
        self.unidentified.insert((e.payment_id,), payment_id=e.payment_id, received_at=meta.at, amount=e.amount,
                                 currency=e.currency, method=e.method, transaction_id=e.transaction_id,
                                 reference=e.reference, status="awaiting_research", note="")

    @apply.register
    def _(self, e: ev.PaymentReferredToAccounting, db: sqlite3.Connection, meta: Meta) -> None:
        self.unidentified.update(db, (e.payment_id,), status="referred", note=e.note)

    @apply.register
    def _(self, e: ev.PaymentMatched, db: sqlite3.Connection, meta: Meta) -> None:
        self.unidentified.update(db, (e.payment_id,), status="matched", matched_account=e.account_id)

    def _paid(self, db: sqlite3.Connection, account: str, kind: str, target: str, delta: int) -> None:
        (self.invoices if kind == "invoice" else self.orders).add(db, (account, target), paid=delta)

    def _order(self, account: str, order_id: str, at: str, channel: str, description: str, amount: int,
               replaces: str | None, items: str) -> None:
        """An order's row; a replacement keeps its old order's items."""
        self.orders.insert((account, order_id), account=account, id=order_id, placed_at=at, channel=channel,
                           description=description, amount=amount, paid=0, status="open", replaces=replaces,
                           manual_processing=0, items=items)

    def _hold(self, account: str, auth_id: str, order_id: str, amount: int, at: str, expires: str) -> None:
        self.authorizations.insert((account, auth_id), account=account, id=auth_id, order_id=order_id,
                                   amount=amount, status="active", authorized_at=at, expires_at=expires, expired=0)
