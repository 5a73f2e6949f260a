"""What the portal reads from the ledger's NATS API, as typed Structs: each reply is decoded into one of these (or
a view of :mod:`ledger.views`, or the command's :class:`~ledger.commands.messages.Outcome`), so a page never
indexes a dict.

The rows are those of :mod:`ledger.projections.queries` as ``ledger.read.<view>`` encodes them: amounts are
decimal strings in the row's ``currency``, instants ISO-8601 in the business time zone, dates ``YYYY-MM-DD``.
Where a row is an account view's row (:mod:`ledger.views`) with its currency, it is that view's Struct extended.
Fields the portal does not show are left out (the decoder skips them).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ledger.money import format_amount, parse_amount
from ledger.views import CreditView, InvoiceView, PaymentView


class Refusal(msgspec.Struct, frozen=True):
    """The ``error`` of a refused request: ``{"code", "field", "message"}`` (``retry_after`` when overloaded)."""

    code: str = ""
    field: str | None = None
    message: str = ""
    retry_after: str | None = None


class Reply(msgspec.Struct, frozen=True):
    """Every reply of the ledger: ``{"ok": ...}`` (kept raw, to be decoded as what was asked for) or
    ``{"error": {...}}``."""

    ok: msgspec.Raw = msgspec.Raw()
    error: Refusal | None = None


class Balance(msgspec.Struct, frozen=True):
    """``ledger.read.balance``: the dashboard's header (owed on invoices and open orders, credit, last payment,
    overdue)."""

    currency: str
    #: Owed on open invoices, owed on open orders, and the open credit held.
    balance: str
    orders_due: str
    credit_balance: str
    #: Owed on invoices past their due date.
    overdue: str
    #: The last settled payment not refunded in full: when, and how much (None before the first).
    last_payment_at: str | None
    last_payment_amount: str | None


class InvoiceRow(InvoiceView, frozen=True):
    """A row of ``ledger.read.invoices``, oldest first: the invoice as :class:`~ledger.views.InvoiceView` shows it,
    its ``currency``, and ``order_id`` the order it bills, if any."""

    currency: str
    order_id: str | None = None


class UnpaidRow(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.unpaid``, what the customer can pay now (seed 001's Pay Now: "all invoices and
    orders with unpaid balances"): an open invoice (``date`` its date, ``due`` its due date) or an open order with
    a balance due (``date`` when it was placed), invoices then orders, each oldest first; ``open`` is what is
    left to pay, ``pending`` what pending (ACH) payments will pay on it (at most ``open``): the ledger refuses a
    payment on what they cover (``pending_payment``), so the customer is offered only what they leave (issue 14)."""

    kind: Literal["invoice", "order"]
    id: str
    date: str
    due: str | None
    amount: str
    paid: str
    open: str
    pending: str
    currency: str

    def minor(self, amount: str) -> int:
        """One of the row's amounts in minor units of its currency."""
        return parse_amount(amount, self.currency, allow_zero=True)

    @property
    def left(self) -> str:
        """What is left to pay now: ``open`` less what pending payments will pay (the exact amount due)."""
        return format_amount(self.minor(self.open) - self.minor(self.pending), self.currency)

    @property
    def covered(self) -> bool:
        """Pending payments will pay all that is open: nothing can be paid on it until they settle or return."""
        return self.minor(self.left) == 0


class PaymentRow(PaymentView, frozen=True):
    """A row of ``ledger.read.payments``, newest first: the payment as :class:`~ledger.views.PaymentView` shows it,
    in ``currency``."""

    currency: str


class CreditRow(CreditView, frozen=True):
    """A row of ``ledger.read.credits``: the credit as :class:`~ledger.views.CreditView` shows it, in
    ``currency``."""

    currency: str


class OrderLine(msgspec.Struct, frozen=True):
    """A line of an order in the history: ``unit_price`` a decimal string."""

    sku: str
    quantity: int
    unit_price: str
    description: str = ""


class HistoryRow(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.history``: an order (``kind`` ``order``, with its ``items``) or an invoice (``kind``
    ``invoice``, ``order`` the order it bills)."""

    kind: str
    id: str
    date: str
    channel: str
    amount: str
    paid: str
    status: str
    currency: str
    items: list[OrderLine] = []
    order: str | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    manual_processing: bool = False
