"""Decisions about customer credits (seeds 001, 002): memo credits, applying and refunding credit."""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Line
from ledger.aggregates.payments import PaymentDecisions
from ledger.aggregates.state import Credit
from ledger.errors import Conflict, NotFound, PolicyViolation


class CreditDecisions(PaymentDecisions):
    def issue_credit(self, ctx: ev.Context, *, credit_id: str, amount: int, reference: str) -> ev.CreditIssued:
        """A credit memo: money the customer may spend on any invoice (applied automatically with payments)."""
        if credit_id in self.state.credits:
            raise Conflict(f"credit {credit_id} already exists", field="credit_id", code="duplicate_id")
        return self.trigger(ctx, ev.CreditIssued, credit_id=credit_id, amount=amount, kind="memo",
                            reference=reference)

    def apply_credit(self, ctx: ev.Context, *, credit_id: str, line: Line) -> ev.CreditApplied:
        """A CSR applies open credit (a deposit, a memo) to one invoice or order, never past its open amount."""
        credit = self.credit(credit_id)
        field = f"allocations.{line.target_id}"
        self._check_target(line, field)
        if line.amount > credit.remaining:
            raise PolicyViolation("the credit does not have that much left", field="amount",
                                  code="exceeds_credit")
        if line.amount > self.state.open_amount(line.target_kind, line.target_id):
            raise PolicyViolation(f"more than is open on {line.target_id}", field=field, code="exceeds_open")
        return self.trigger(ctx, ev.CreditApplied, credit_id=credit_id, target_kind=line.target_kind,
                            target_id=line.target_id, amount=line.amount)

    def check_credit_refund(self, *, credit_id: str, amount: int) -> Credit:
        """Refuse a refund of credit before the gateway is asked."""
        credit = self.credit(credit_id)
        if amount > credit.remaining:
            raise PolicyViolation("the refund exceeds the credit left", field="amount", code="exceeds_credit")
        if credit.payment_id is not None and self.state.payments[credit.payment_id].method == "ach":
            raise PolicyViolation("credit funded by ACH is not refunded in cash (it may still be returned)",
                                  field="credit_id", code="ach_refund_not_supported")
        return credit

    def refund_credit(self, ctx: ev.Context, *, credit_id: str, amount: int, refund_transaction_id: str,
                      idempotency_key: str) -> ev.CreditRefunded:
        """Pay open credit back to the customer."""
        self.check_credit_refund(credit_id=credit_id, amount=amount)
        return self.trigger(ctx, ev.CreditRefunded, credit_id=credit_id, amount=amount,
                            refund_transaction_id=refund_transaction_id, idempotency_key=idempotency_key)

    def credit(self, credit_id: str) -> Credit:
        """The credit, or NotFound."""
        credit = self.state.credits.get(credit_id)
        if credit is None:
            raise NotFound(f"no credit {credit_id}", field="credit_id")
        return credit
