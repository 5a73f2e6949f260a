"""Commands of invoices: issuing, adjusting and voiding an invoice."""

from __future__ import annotations

from ledger.commands.messages.base import AccountCommand


class IssueInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    amount: str
    date: str
    due: str
    order: str | None = None


class AdjustInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    amount: str
    reason: str = ""


class VoidInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    reason: str = ""
