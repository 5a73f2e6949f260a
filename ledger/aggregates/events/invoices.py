"""Events of invoices (seeds 000, 001)."""

from __future__ import annotations

from datetime import date

from ledger.aggregates.events.base import Event, Minor


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
