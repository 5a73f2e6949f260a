"""Decisions about customer credits (seeds 001, 002): memo credits, applying and refunding credit, and how money
applied to an invoice or order is released (into credit, or onto another target) and applied again."""

from __future__ import annotations

from collections.abc import Callable

from ledger.aggregates import allocation
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Line, TargetKind
from ledger.aggregates.limits import check_amount, check_credit
from ledger.aggregates.state import Application, Credit
from ledger.aggregates.targets import TargetDecisions
from ledger.errors import Conflict, NotFound, PolicyViolation


class CreditDecisions(TargetDecisions):
    def issue_credit(self, ctx: ev.Context, *, credit: str, amount: int, reference: str) -> ev.CreditIssued:
        """A credit memo: money the customer may spend on any invoice (applied automatically with payments)."""
        if credit in self.state.credits:
            raise Conflict(f"credit {credit} already exists", field="credit", code="duplicate_id")
        check_amount(amount, self.state.currency)
        check_credit(self.state, amount)
        return self.trigger(ctx, ev.CreditIssued, credit_id=credit, amount=amount, kind="memo",
                            reference=reference)

    def apply_credit(self, ctx: ev.Context, *, credit: str, line: Line) -> ev.CreditApplied:
        """A CSR applies open credit (a deposit, a memo) to one invoice or order, never past its open amount."""
        found = self.credit(credit)
        field = line.target_kind  # the command names one invoice or one order
        self.check_target(line, field)
        if line.amount > found.remaining:
            raise PolicyViolation("the credit does not have that much left", field="amount",
                                  code="exceeds_credit")
        if line.amount > self.state.open_amount(line.target_kind, line.target_id):
            raise PolicyViolation(f"more than is open on {line.target_id}", field=field, code="exceeds_open")
        return self.trigger(ctx, ev.CreditApplied, credit_id=credit, target_kind=line.target_kind,
                            target_id=line.target_id, amount=line.amount)

    def check_credit_refund(self, *, credit: str, amount: int) -> Credit:
        """Refuse a refund of credit before the gateway is asked."""
        found = self.credit(credit)
        if amount > found.remaining:
            raise PolicyViolation("the refund exceeds the credit left", field="amount", code="exceeds_credit")
        if found.payment_id is not None and self.state.payments[found.payment_id].method == "ach":
            raise PolicyViolation("credit funded by ACH is not refunded in cash (it may still be returned)",
                                  field="credit", code="ach_refund_not_supported")
        return found

    def refund_credit(self, ctx: ev.Context, *, credit: str, amount: int, refund_transaction_id: str,
                      idempotency_key: str) -> ev.CreditRefunded:
        """Pay open credit back to the customer."""
        self.check_credit_refund(credit=credit, amount=amount)
        return self.trigger(ctx, ev.CreditRefunded, credit_id=credit, amount=amount,
                            refund_transaction_id=refund_transaction_id, idempotency_key=idempotency_key)

    def credit(self, credit_id: str) -> Credit:
        """The credit, or NotFound."""
        credit = self.state.credits.get(credit_id)
        if credit is None:
            raise NotFound(f"no credit {credit_id}", field="credit")
        return credit

    def spend_credits(self, ctx: ev.Context, targets: list[allocation.OpenItem], with_payment: str | None) -> None:
        """Seed 001: "Credits ... will be automatically applied when any payment is made"."""
        credits = [(c.id, c.remaining) for c in self.state.open_credits()]
        for credit_id, line in allocation.apply_credits(credits, targets):
            self.trigger(ctx, ev.CreditApplied, credit_id=credit_id, target_kind=line.target_kind,
                         target_id=line.target_id, amount=line.amount, with_payment=with_payment)

    def credits_of(self, payment_id: str) -> list[Credit]:
        """The credits funded by ``payment_id`` (its overpayments and deposit)."""
        return [c for c in self.state.credits.values() if c.payment_id == payment_id]

    # -- releasing and re-applying money ----------------------------------------------------------------

    def release_target(self, ctx: ev.Context, kind: TargetKind, target_id: str, *, reason: str,
                       into: str | None) -> list[Application]:
        """Undo every application on one invoice or order.

        With ``into`` None the money becomes credit (a payment's share as an overpayment credit, a credit's
        share back on that credit), refused with ``balance_limit`` (naming the ``kind``) when the account's
        open credit would pass MAX_BALANCE, nothing recorded; otherwise the released applications are returned
        for re-application, in a fixed order (payments as submitted, then credits oldest first) that does not
        depend on the order they were applied in (an ACH return's re-allocation applies in another order than
        the history it stands for).
        """
        payments = {payment_id: n for n, payment_id in enumerate(self.state.payments)}
        credits = self.state.credits

        def rank(app: Application) -> tuple[bool, int, str]:
            if app.source_kind == "payment":
                return False, payments.get(app.source_id, 0), app.with_payment or ""
            return True, credits[app.source_id].sequence if app.source_id in credits else 0, app.with_payment or ""

        released = sorted(self.applications_where(lambda a: (a.target_kind, a.target_id) == (kind, target_id)),
                          key=rank)
        if into is None:  # issue 15: released money becomes open credit, which has a limit like new credit
            check_credit(self.state, sum(app.amount for app in released), field=kind)
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
