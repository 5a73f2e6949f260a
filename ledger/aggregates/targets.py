"""What money is applied to: an open order or a live invoice (seeds 000, 001).

The lookups every area that moves money (payments, credits, orders, invoices, authorizations) starts from, so
they sit first in the Account's mixin order.
"""

from __future__ import annotations

from ledger.aggregates import amount_due
from ledger.aggregates.events.payments import Line
from ledger.aggregates.root import AccountRoot
from ledger.aggregates.state import Invoice, Order
from ledger.errors import Conflict, NotFound


class TargetDecisions(AccountRoot):
    def open_order(self, order_id: str, field: str = "order") -> Order:
        """The order, refused when unknown or no longer open."""
        order = self.state.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", field=field)
        if order.status != "open":
            raise Conflict(f"order {order_id} is {order.status}", field=field, code="order_not_open")
        return order

    def live_invoice(self, invoice_id: str, field: str = "invoice") -> Invoice:
        """The invoice, refused when unknown or void."""
        invoice = self.state.invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}", field=field)
        if invoice.voided:
            raise Conflict(f"invoice {invoice_id} is void", field=field, code="invoice_void")
        return invoice

    def check_target(self, line: Line, field: str) -> None:
        """Refuse money for an invoice that is void or already paid, for an order that is not open or has nothing
        left to pay, or for either when pending payments already cover it (issue 14)."""
        if line.target_kind == "invoice":
            invoice = self.live_invoice(line.target_id, field=field)
            if invoice.open == 0:
                raise Conflict(f"invoice {line.target_id} is already paid", field=field, code="invoice_paid")
        elif self.open_order(line.target_id, field=field).open == 0:
            raise Conflict(f"order {line.target_id} has nothing left to pay", field=field, code="order_paid")
        amount_due.check_not_covered(self.state, line.target_kind, line.target_id, field)
