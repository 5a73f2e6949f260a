"""Decisions about orders and invoices (seeds 000, 001, 004).

Orders come from any channel; a price rise on a card order asks for reauthorization; a replaced order is
cancelled and linked to its successor, its money moving along. An invoice is never applied past its total.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import TargetKind
from ledger.aggregates.root import AccountRoot
from ledger.aggregates.state import Application, Invoice, Order
from ledger.errors import Conflict, NotFound, PolicyViolation, ValidationError


class BillingDecisions(AccountRoot):
    def place_order(self, ctx: ev.Context, *, order_id: str, amount: int, channel: str = "web",
                    description: str = "") -> ev.OrderPlaced:
        """Record an order from the web, POS, phone or a CSR."""
        if order_id in self.state.orders:
            raise Conflict(f"order {order_id} already exists", field="order_id", code="duplicate_id")
        return self.trigger(ctx, ev.OrderPlaced, order_id=order_id, amount=amount, channel=channel,
                            description=description)

    def change_order_price(self, ctx: ev.Context, *, order_id: str, new_amount: int) -> ev.OrderPriceChanged:
        """Change an open order's price; a rise above a card hold needs reauthorization (seed 004)."""
        order = self.open_order(order_id)
        if new_amount < order.paid:
            raise PolicyViolation("the new price is below what was already paid", field="amount",
                                  code="below_paid")
        if new_amount == order.amount:
            raise Conflict("the order already has this price", field="amount", code="no_change")
        return self.trigger(ctx, ev.OrderPriceChanged, order_id=order_id, old_amount=order.amount,
                            new_amount=new_amount)

    def cancel_order(self, ctx: ev.Context, *, order_id: str, reason: str = "") -> ev.OrderCancelled:
        """Cancel an open order; money already applied to it becomes customer credit."""
        self.open_order(order_id)
        self.release_target(ctx, "order", order_id, reason="order cancelled", into=None)
        return self.trigger(ctx, ev.OrderCancelled, order_id=order_id, reason=reason)

    def replace_order(self, ctx: ev.Context, *, old_order_id: str, new_order_id: str,
                      amount: int) -> ev.OrderReplaced:
        """Cancel ``old_order_id``, create ``new_order_id`` linked to it, and move its payments over (seed 004)."""
        old = self.open_order(old_order_id, field="old_order_id")
        if new_order_id in self.state.orders:
            raise Conflict(f"order {new_order_id} already exists", field="new_order_id", code="duplicate_id")
        if amount < old.paid:
            raise PolicyViolation("the new order is below what was already paid", field="amount",
                                  code="below_paid")
        moved = self.release_target(ctx, "order", old_order_id, reason="order replaced", into=new_order_id)
        event = self.trigger(ctx, ev.OrderReplaced, old_order_id=old_order_id, new_order_id=new_order_id,
                             amount=amount)
        for app in moved:
            self.reapply(ctx, app, "order", new_order_id)
        return event

    def issue_invoice(self, ctx: ev.Context, *, invoice_id: str, total: int, issued_on: date, due_on: date,
                      order_id: str | None = None) -> ev.InvoiceIssued:
        """Issue an invoice (id, date, due date, total); an invoiced order is closed and what was paid on it
        moves onto the invoice, so the customer never owes the same goods twice."""
        if invoice_id in self.state.invoices:
            raise Conflict(f"invoice {invoice_id} already exists", field="invoice_id", code="duplicate_id")
        if due_on < issued_on:
            raise ValidationError("the due date is before the invoice date", field="due", code="due_before_date")
        if order_id is not None:
            self.open_order(order_id, field="order")
        moved = [] if order_id is None else self.release_target(ctx, "order", order_id,
                                                                reason=f"invoiced as {invoice_id}", into=invoice_id)
        event = self.trigger(ctx, ev.InvoiceIssued, invoice_id=invoice_id, total=total, issued_on=issued_on,
                             due_on=due_on, order_id=order_id)
        room = total
        for app in moved:  # money paid on the order now pays its invoice; beyond the total it becomes credit
            take = min(app.amount, room)
            if take:
                self.reapply(ctx, Application(app.source_kind, app.source_id, app.target_kind, app.target_id, take,
                                              app.with_payment), "invoice", invoice_id)
                room -= take
            if app.amount > take and app.source_kind == "payment":
                self.trigger(ctx, ev.CreditIssued, credit_id=self.next_credit_id(app.source_id),
                             amount=app.amount - take, kind="overpayment",
                             reference=f"paid on order {order_id} beyond invoice {invoice_id}",
                             payment_id=app.source_id)
        return event

    def adjust_invoice(self, ctx: ev.Context, *, invoice_id: str, new_total: int,
                       reason: str = "") -> ev.InvoiceAdjusted:
        """Change an invoice's total; it may not drop below what was already paid on it."""
        invoice = self.live_invoice(invoice_id)
        if new_total < invoice.paid:
            raise PolicyViolation("the new total is below what was already paid", field="amount",
                                  code="below_paid")
        if new_total == invoice.total:
            raise Conflict("the invoice already has this total", field="amount", code="no_change")
        return self.trigger(ctx, ev.InvoiceAdjusted, invoice_id=invoice_id, old_total=invoice.total,
                            new_total=new_total, reason=reason)

    def void_invoice(self, ctx: ev.Context, *, invoice_id: str, reason: str = "") -> ev.InvoiceVoided:
        """Void an invoice; money applied to it becomes customer credit."""
        self.live_invoice(invoice_id)
        self.release_target(ctx, "invoice", invoice_id, reason="invoice voided", into=None)
        return self.trigger(ctx, ev.InvoiceVoided, invoice_id=invoice_id, reason=reason)

    # -- shared by the other decision modules -------------------------------------------------------------

    def open_order(self, order_id: str, field: str = "order_id") -> Order:
        """The order, refused when unknown or no longer open."""
        order = self.state.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", field=field)
        if order.status != "open":
            raise Conflict(f"order {order_id} is {order.status}", field=field, code="order_not_open")
        return order

    def live_invoice(self, invoice_id: str, field: str = "invoice_id") -> Invoice:
        """The invoice, refused when unknown or void."""
        invoice = self.state.invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}", field=field)
        if invoice.voided:
            raise Conflict(f"invoice {invoice_id} is void", field=field, code="invoice_void")
        return invoice

    def release_target(self, ctx: ev.Context, kind: TargetKind, target_id: str, *, reason: str,
                       into: str | None) -> list[Application]:
        """Undo every application on one invoice or order.

        With ``into`` None the money becomes credit (a payment's share as an overpayment credit, a credit's
        share back on that credit); otherwise the released applications are returned for re-application, in a
        fixed order (payments as submitted, then credits oldest first) that does not depend on the order they
        were applied in (an ACH return's re-allocation applies in another order than the history it stands for).
        """
        payments = {payment_id: n for n, payment_id in enumerate(self.state.payments)}
        credits = self.state.credits

        def rank(app: Application) -> tuple[bool, int, str]:
            if app.source_kind == "payment":
                return False, payments.get(app.source_id, 0), app.with_payment or ""
            return True, credits[app.source_id].sequence if app.source_id in credits else 0, app.with_payment or ""

        released = sorted(self.applications_where(lambda a: (a.target_kind, a.target_id) == (kind, target_id)),
                          key=rank)
        for app in released:
            self.unapply(ctx, app, reason)
            if into is None and app.source_kind == "payment":
                self.trigger(ctx, ev.CreditIssued, credit_id=self.next_credit_id(app.source_id), amount=app.amount,
                             kind="overpayment", reference=f"released from {kind} {target_id}",
                             payment_id=app.source_id)
        return released

    def applications_where(self, keep: Callable[[Application], bool]) -> list[Application]:
        """Copies of the live applications that ``keep`` selects, merged per source, target and payment."""
        merged: dict[tuple[str, str, str, str, str | None], Application] = {}
        for a in self.state.applications:
            if not keep(a):
                continue
            key = (a.source_kind, a.source_id, a.target_kind, a.target_id, a.with_payment)
            if key in merged:
                merged[key].amount += a.amount
            else:
                merged[key] = Application(a.source_kind, a.source_id, a.target_kind, a.target_id, a.amount,
                                          a.with_payment)
        return list(merged.values())

    def unapply(self, ctx: ev.Context, app: Application, reason: str) -> None:
        """Undo one application, from a payment or from a credit."""
        if app.source_kind == "payment":
            self.trigger(ctx, ev.PaymentUnapplied, payment_id=app.source_id, target_kind=app.target_kind,
                         target_id=app.target_id, amount=app.amount, reason=reason)
        else:
            self.trigger(ctx, ev.CreditUnapplied, credit_id=app.source_id, target_kind=app.target_kind,
                         target_id=app.target_id, amount=app.amount, reason=reason, with_payment=app.with_payment)

    def reapply(self, ctx: ev.Context, app: Application, kind: TargetKind, target_id: str) -> None:
        """Apply released money to another target."""
        if app.source_kind == "payment":
            self.trigger(ctx, ev.PaymentApplied, payment_id=app.source_id, target_kind=kind, target_id=target_id,
                         amount=app.amount, moved_from=app.target_id)
        else:
            self.trigger(ctx, ev.CreditApplied, credit_id=app.source_id, target_kind=kind, target_id=target_id,
                         amount=app.amount, with_payment=app.with_payment, moved_from=app.target_id)

    def next_credit_id(self, payment_id: str) -> str:
        """A fresh, deterministic id for a credit funded by ``payment_id``."""
        base = f"{payment_id}-CR"
        if base not in self.state.credits:
            return base
        n = 2
        while f"{base}{n}" in self.state.credits:
            n += 1
        return f"{base}{n}"
