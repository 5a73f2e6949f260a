"""Handlers for invoices; a repeated issue with the same body is an idempotent no-op."""

from __future__ import annotations

from ledger.commands import messages as m
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import amount_of, check_date, check_id, check_text
from ledger.errors import Conflict

HANDLERS = HandlerRegistry()
_CHANNELS = ("web", "pos", "phone", "csr", "portal", "api")


@HANDLERS.on(m.IssueInvoice)
def issue_invoice(unit: Unit, cmd: m.IssueInvoice) -> m.Outcome:
    account = unit.account(cmd.account)
    invoice_id = check_id(cmd.invoice, "invoice")
    total = amount_of(account, cmd.amount)
    issued_on, due_on = check_date(cmd.date, "date"), check_date(cmd.due, "due")
    existing = account.state.invoices.get(invoice_id)
    if existing is not None:
        if (existing.total, existing.issued_on, existing.due_on, existing.order_id) == (total, issued_on, due_on,
                                                                                         cmd.order):
            return replayed(cmd.account, invoice_id)
        raise Conflict(f"invoice {invoice_id} already exists with other details", field="invoice",
                       code="duplicate_id")
    account.issue_invoice(unit.ctx, invoice=invoice_id, total=total, issued_on=issued_on, due_on=due_on,
                          order=cmd.order)
    return recorded(unit, cmd.account, invoice_id)


@HANDLERS.on(m.AdjustInvoice)
def adjust_invoice(unit: Unit, cmd: m.AdjustInvoice) -> m.Outcome:
    account = unit.account(cmd.account)
    account.adjust_invoice(unit.ctx, invoice=cmd.invoice, new_total=amount_of(account, cmd.amount),
                           reason=check_text(cmd.reason, "reason"))
    return recorded(unit, cmd.account, cmd.invoice)


@HANDLERS.on(m.VoidInvoice)
def void_invoice(unit: Unit, cmd: m.VoidInvoice) -> m.Outcome:
    account = unit.account(cmd.account)
    invoice = account.state.invoices.get(cmd.invoice)
    if invoice is not None and invoice.voided:
        return replayed(cmd.account, cmd.invoice)
    account.void_invoice(unit.ctx, invoice=cmd.invoice, reason=check_text(cmd.reason, "reason"))
    return recorded(unit, cmd.account, cmd.invoice)
