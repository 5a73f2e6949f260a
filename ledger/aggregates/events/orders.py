"""Events of orders and invoices (seeds 000, 001, 004)."""

from __future__ import annotations

from datetime import date

from ledger.aggregates.events.base import Event, Minor


class OrderEvent(Event, frozen=True, kw_only=True):
    area = "orders"


class OrderPlaced(OrderEvent, frozen=True, kw_only=True):
    """An order from any channel (web, POS, phone); its balance due can be paid like an invoice's."""

    order_id: str
    amount: Minor
    channel: str = "web"
    description: str = ""


class OrderPriceChanged(OrderEvent, frozen=True, kw_only=True):
    order_id: str
    old_amount: Minor
    new_amount: Minor


class OrderCancelled(OrderEvent, frozen=True, kw_only=True):
    order_id: str
    reason: str = ""


class OrderReplaced(OrderEvent, frozen=True, kw_only=True):
    """A price rise checked out: the old order is cancelled, the new one created and linked (seed 004)."""

    old_order_id: str
    new_order_id: str
    amount: Minor


class InvoiceEvent(Event, frozen=True, kw_only=True):
    area = "invoices"


class InvoiceIssued(InvoiceEvent, frozen=True, kw_only=True):
    invoice_id: str
    total: Minor
    issued_on: date
    due_on: date
    order_id: str | None = None


class InvoiceAdjusted(InvoiceEvent, frozen=True, kw_only=True):
    invoice_id: str
    old_total: Minor
    new_total: Minor
    reason: str = ""


class InvoiceVoided(InvoiceEvent, frozen=True, kw_only=True):
    invoice_id: str
    reason: str = ""
