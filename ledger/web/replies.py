"""What the portal reads from the ledger's NATS API, as typed Structs: each reply is decoded into one of these (or
a view of :mod:`ledger.views`, or the command's :class:`~ledger.commands.messages.Outcome`), so a page never
indexes a dict.

The rows are those of :mod:`ledger.projections.queries` as ``ledger.read.<view>`` encodes them: amounts are
decimal strings in the row's ``currency``, instants ISO-8601 in the business time zone, dates ``YYYY-MM-DD``.
Fields the portal does not show are left out (the decoder skips them).
"""

from __future__ import annotations

import msgspec


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

    account_id: str
    currency: str
    balance: str
    orders_due: str
    credit_balance: str
    overdue: str
    last_payment_at: str | None = None
    last_payment_amount: str | None = None


class InvoiceRow(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.invoices``, oldest first; ``order_id`` the order it bills, if any."""

    id: str
    date: str
    due: str
    total: str
    paid: str
    open: str
    status: str
    currency: str
    order_id: str | None = None


class PaymentRow(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.payments``, newest first (``status`` as :func:`ledger.views.payment_status`)."""

    id: str
    date: str
    method: str
    amount: str
    status: str
    transaction_id: str
    refunded: str
    currency: str


class CreditRow(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.credits``: what the credit was, and what of it remains."""

    id: str
    date: str
    amount: str
    remaining: str
    kind: str
    reference: str
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
