"""Decisions about invoices (seeds 000, 001).

An invoice is never applied past its total; an invoiced order is closed and what was paid on it moves onto the
invoice.
"""

from __future__ import annotations

from datetime import date

from ledger.aggregates import events as ev
from ledger.aggregates.credits import CreditDecisions
from ledger.aggregates.limits import check_amount, check_owed
from ledger.aggregates.state import Application
from ledger.errors import Conflict, PolicyViolation, ValidationError


class InvoiceDecisions(CreditDecisions):
    def issue_invoice(self, ctx: ev.Context, *, invoice: str, total: int, issued_on: date, due_on: date,
                      order: str | None = None) -> ev.InvoiceIssued:
        """Issue an invoice (id, date, due date, total); an invoiced order is closed and what was paid on it
        moves onto the invoice, so the customer never owes the same goods twice."""
        if invoice in self.state.invoices:
            raise Conflict(f"invoice {invoice} already exists", field="invoice", code="duplicate_id")
        check_amount(total, self.state.currency)
        check_owed(self.state, total - (0 if order is None else self.state.open_amount("order", order)))
        if due_on < issued_on:
            raise ValidationError("the due date is before the invoice date", field="due", code="due_before_date")
        if order is not None:
            self.open_order(order, field="order")
        moved = [] if order is None else self.release_target(ctx, "order", order,
                                                                reason=f"invoiced as {invoice}", into=invoice)
        event = self.trigger(ctx, ev.InvoiceIssued, invoice_id=invoice, total=total, issued_on=issued_on,
                             due_on=due_on, order_id=order)
        room = total
        for app in moved:  # money paid on the order now pays its invoice; beyond the total it becomes credit
            take = min(app.amount, room)
            if take:
                self.reapply(ctx, Application(app.source_kind, app.source_id, app.target_kind, app.target_id, take,
                                              app.with_payment), "invoice", invoice)
                room -= take
            if app.amount > take and app.source_kind == "payment":
                self.trigger(ctx, ev.CreditIssued, credit_id=self.next_credit_id(app.source_id),
                             amount=app.amount - take, kind="overpayment",
                             reference=f"paid on order {order} beyond invoice {invoice}",
                             payment_id=app.source_id)
        return event

    def adjust_invoice(self, ctx: ev.Context, *, invoice: str, new_total: int,
                       reason: str = "") -> ev.InvoiceAdjusted:
        """Change an invoice's total; it may not drop below what was already paid on it."""
        found = self.live_invoice(invoice)
        if new_total < found.paid:
            raise PolicyViolation("the new total is below what was already paid", field="amount",
                                  code="below_paid")
        if new_total == found.total:
            raise Conflict("the invoice already has this total", field="amount", code="no_change")
        check_amount(new_total, self.state.currency)
        check_owed(self.state, new_total - found.total)
        return self.trigger(ctx, ev.InvoiceAdjusted, invoice_id=invoice, old_total=found.total,
                            new_total=new_total, reason=reason)

    def void_invoice(self, ctx: ev.Context, *, invoice: str, reason: str = "") -> ev.InvoiceVoided:
        """Void an invoice; money applied to it becomes customer credit."""
        self.live_invoice(invoice)
        self.release_target(ctx, "invoice", invoice, reason="invoice voided", into=None)
        return self.trigger(ctx, ev.InvoiceVoided, invoice_id=invoice, reason=reason)
