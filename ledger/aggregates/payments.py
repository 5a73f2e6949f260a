"""Decisions about payments and their application (seeds 000, 001, 003).

Card and PayPal settle or decline at once; ACH stays pending until it settles or is returned. Money is applied
when it settles: explicit amounts per invoice or order, or distributed oldest invoice first; excess becomes
overpayment credit; open credits are applied automatically with the payment. What pending payments will pay is
not due again (issue 14): neither a distribution nor the open credits go there. A returned ACH payment is
unwound so balances are exactly as if it had never been made.
"""

from __future__ import annotations

from ledger.aggregates import allocation, amount_due, reallocation
from ledger.aggregates import events as ev
from ledger.aggregates.credits import CreditDecisions
from ledger.aggregates.events.payments import Instruction, Line, Method
from ledger.aggregates.evolve import opened
from ledger.aggregates.limits import check_amount, check_credit
from ledger.aggregates.state import Application, Payment
from ledger.errors import Conflict, LedgerError, NotFound, PolicyViolation, ValidationError

#: What another writer can change between a payment's charge and its record (the payment's targets were paid,
#: voided or closed, the exact amount due changed): refusals that :meth:`PaymentDecisions.record_payment` waives
#: for a charge already made.
OVERTAKEN = frozenset({"invoice_paid", "invoice_void", "order_not_open", "order_paid", "pending_payment",
                       "exact_amount_required"})


class PaymentDecisions(CreditDecisions):
    def check_payment(self, *, payment: str, amount: int, instruction: Instruction) -> None:
        """Refuse a payment before the gateway is called: ids, targets, amounts and the exact-amount policy.

        A refusal another writer could have caused (:data:`OVERTAKEN`) is raised only when nothing else is wrong
        with the request, so waiving it (a charge already made) never waives a check of the request itself.
        """
        if payment in self.state.payments:
            raise Conflict(f"payment {payment} already exists", field="payment", code="duplicate_id")
        check_amount(amount, self.state.currency)
        check_credit(self.state, amount)  # what it does not pay becomes credit
        if instruction.mode == "explicit":
            if not instruction.lines:
                raise ValidationError("name at least one invoice or order", field="allocations")
            seen: set[tuple[str, str]] = set()
            overtaken: LedgerError | None = None  # raised only when nothing else is wrong with the request
            for line in instruction.lines:
                field = f"{line.target_kind}s.{line.target_id}"  # the command's name: invoices.I3, orders.O1
                key = (line.target_kind, line.target_id)
                if key in seen:
                    raise ValidationError(f"{line.target_id} is named twice", field=field, code="duplicate_target")
                seen.add(key)
                try:
                    self.check_target(line, field)
                except LedgerError as error:
                    if error.code not in OVERTAKEN:
                        raise
                    overtaken = overtaken or error
            if sum(line.amount for line in instruction.lines) != amount:
                raise ValidationError("the allocations do not add up to the amount", field="allocations",
                                      code="allocation_mismatch")
            if overtaken is not None:
                raise overtaken
            if instruction.exact:
                amount_due.check_exact_lines(self.state, instruction.lines)
        elif instruction.mode == "distribute":
            if instruction.exact:
                amount_due.check_exact_balance(self.state, amount)
        elif instruction.lines:
            raise ValidationError("a deposit names no invoice", field="allocations")
        if instruction.purpose is not None and instruction.mode != "deposit":
            raise ValidationError("only a deposit is held for a purpose", field="purpose")

    def record_payment(self, ctx: ev.Context, *, payment: str, amount: int, method: Method, token: str,
                       transaction_id: str, status: str, decline_code: str | None, idempotency_key: str,
                       request_hash: str, instruction: Instruction, source: str | None = None,
                       overtaken: bool = False) -> Payment:
        """Record what the gateway answered: settled and applied, declined, or pending (ACH).

        ``overtaken``: the gateway took the money while another writer paid or closed the payment's targets; the
        payment is recorded all the same (:data:`OVERTAKEN` refusals waived) and what is no longer open becomes
        credit, so no charge is ever unknown to the ledger.
        """
        try:
            self.check_payment(payment=payment, amount=amount, instruction=instruction)
        except LedgerError as error:
            if not (overtaken and error.code in OVERTAKEN):
                raise
        planned = amount_due.plan(self.state, amount) if (status, instruction.mode) == ("pending", "distribute") else ()
        self.trigger(ctx, ev.PaymentSubmitted, payment_id=payment, amount=amount, method=method, token=token,
                     transaction_id=transaction_id, idempotency_key=idempotency_key, request_hash=request_hash,
                     instruction=instruction, source=source, planned=planned)
        if status == "approved":
            self.trigger(ctx, ev.PaymentSettled, payment_id=payment)
            self.apply_settled(ctx, payment)
        elif status == "declined":
            self.trigger(ctx, ev.PaymentDeclined, payment_id=payment, decline_code=decline_code or "declined")
        return self.state.payments[payment]

    def settle_payment(self, ctx: ev.Context, *, payment: str) -> Payment:
        """An ACH payment cleared: apply it now, as the payer instructed."""
        found = self.payment(payment)
        if found.status != "pending":
            raise Conflict(f"payment {payment} is {found.status}", field="payment", code="not_pending")
        self.trigger(ctx, ev.PaymentSettled, payment_id=payment)
        self.apply_settled(ctx, payment)
        return found

    def return_payment(self, ctx: ev.Context, *, payment: str, return_code: str = "R01",
                       history: reallocation.History | None = None) -> reallocation.Outcome:
        """An ACH payment came back: undo everything it paid so balances are as if it never happened.

        With the account's ``history``, payments applied after it settled are re-allocated as they would have
        been without it (:mod:`ledger.aggregates.reallocation`), where that history can be replayed without it;
        returns what was done about them (:data:`ledger.aggregates.reallocation.Outcome`).
        """
        found = self.payment(payment)
        if found.method != "ach":
            raise PolicyViolation("only ACH payments are returned", field="payment", code="not_ach")
        if found.status not in ("pending", "settled"):
            raise Conflict(f"payment {payment} is {found.status}", field="payment", code="not_returnable")
        outcome: reallocation.Outcome = ""
        if found.status == "settled":
            before = self.version
            self._unwind(ctx, payment, reason=f"ACH return {return_code}")
            if history is not None:
                outcome = self._reallocate(ctx, history, payment, before)
        self.trigger(ctx, ev.PaymentReturned, payment_id=payment, return_code=return_code)
        return outcome

    def _reallocate(self, ctx: ev.Context, history: reallocation.History, payment_id: str,
                    version: int) -> reallocation.Outcome:
        """Move later payments' money and credits to where they would be had ``payment_id`` never been made;
        returns what was done: ``reallocated``, ``unchanged``, or why the plain unwind stands (``not_replayable``
        a later event depends on where money went; ``credit_would_be_opened`` a credit that only the history
        without the payment has; ``history_not_current`` the history is not this account's at ``version``)."""
        if not history or history[-1].originator_version != version:
            return "history_not_current"
        wanted = reallocation.counterfactual(
            history, payment_id, lambda opening: type(self)(opening.originator_id, opening.originator_version,
                                                            opened(opening), opening.timestamp))
        if wanted is None:
            return "not_replayable"
        plan = reallocation.differences(self.state, wanted)
        if plan.issue:
            return "credit_would_be_opened"  # (issued now, it would be spent after older ones): unwind only
        if not (plan.unapply or plan.reverse or plan.apply):
            return "unchanged"
        reason = f"reallocated: {payment_id} returned"
        for (kind, source, target_kind, target, with_payment), amount in plan.unapply:
            self.unapply(ctx, Application(kind, source, target_kind, target, amount, with_payment), reason)  # type: ignore[arg-type]
        for credit_id, amount in plan.reverse:
            self.trigger(ctx, ev.CreditReversed, credit_id=credit_id, amount=amount, reason=reason)
        for (kind, source, target_kind, target, with_payment), amount in plan.apply:
            if kind == "payment":
                self.trigger(ctx, ev.PaymentApplied, payment_id=source, target_kind=target_kind, target_id=target,
                             amount=amount, reallocated_for=payment_id)
            else:
                self.trigger(ctx, ev.CreditApplied, credit_id=source, target_kind=target_kind, target_id=target,
                             amount=amount, with_payment=with_payment, reallocated_for=payment_id)
        return "reallocated"

    def check_refund(self, *, payment: str, amount: int) -> Payment:
        """Refuse a refund before the gateway is asked: card or PayPal, settled, not beyond what is left."""
        found = self.payment(payment)
        if found.method == "ach":
            raise PolicyViolation("ACH payments are not refunded; their credit stays on the account",
                                  field="payment", code="ach_refund_not_supported")
        if found.status != "settled":
            raise Conflict(f"payment {payment} is {found.status}", field="payment", code="not_settled")
        if amount > self.refundable(found):
            raise PolicyViolation("the refund exceeds what is left of the payment", field="amount",
                                  code="refund_exceeds_payment")
        return found

    def refundable(self, payment: Payment) -> int:
        """What can still be taken back from a payment: its applications plus its own credits (unspent or
        applied), never credit that was already paid out in cash."""
        recoverable = payment.applied
        for credit in self.credits_of(payment.id):
            recoverable += credit.remaining + sum(a.amount for a in self._applications_of("credit", credit.id))
        return min(recoverable, payment.amount - payment.refunded)

    def refund_payment(self, ctx: ev.Context, *, payment: str, amount: int, refund_transaction_id: str,
                       idempotency_key: str) -> Payment:
        """Give money back: first from the payment's own credit, then from its newest applications."""
        found = self.check_refund(payment=payment, amount=amount)
        left = amount
        for credit in self.credits_of(payment):
            for app in reversed(self._applications_of("credit", credit.id)):
                if credit.remaining >= left:
                    break
                take = min(left - credit.remaining, app.amount)
                self.unapply(ctx, Application(app.source_kind, app.source_id, app.target_kind, app.target_id, take,
                                              app.with_payment), "payment refunded")
            take = min(left, credit.remaining)
            if take:
                self.trigger(ctx, ev.CreditReversed, credit_id=credit.id, amount=take, reason="payment refunded")
                left -= take
        for app in reversed(self._applications_of("payment", payment)):
            if left == 0:
                break
            take = min(left, app.amount)
            self.unapply(ctx, Application(app.source_kind, app.source_id, app.target_kind, app.target_id, take),
                         "payment refunded")
            left -= take
        self.trigger(ctx, ev.PaymentRefunded, payment_id=payment, amount=amount,
                     refund_transaction_id=refund_transaction_id, idempotency_key=idempotency_key)
        return found

    def payment(self, payment_id: str) -> Payment:
        """The payment, or NotFound."""
        payment = self.state.payments.get(payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}", field="payment")
        return payment

    # -- application -----------------------------------------------------------------------------------

    def apply_settled(self, ctx: ev.Context, payment_id: str) -> None:
        """Apply a settled payment per its instruction, then spend open credits on what is still open; neither
        goes to what pending payments will pay (:func:`ledger.aggregates.amount_due.uncovered_invoices`)."""
        payment = self.state.payments[payment_id]
        instruction = payment.instruction
        if instruction.mode == "deposit":
            self.trigger(ctx, ev.PaymentDeposited, payment_id=payment_id, credit_id=f"{payment_id}-DEP",
                         amount=payment.amount, purpose=instruction.purpose)
            return
        if instruction.mode == "explicit":  # a line for an order replaced or invoiced since pays its successor
            lines = [Line(*self.state.successor(line.target_kind, line.target_id), line.amount)
                     for line in instruction.lines]
            keys = [(line.target_kind, line.target_id) for line in lines]
            result = allocation.allocate_explicit(lines, {k: self.state.open_amount(*k) for k in keys})
        else:  # what it planned to pay while pending first, then oldest first; never what others will pay
            planned = {line.target_id for line in payment.planned or ()}
            items = sorted(amount_due.uncovered_invoices(self.state), key=lambda item: item[1] not in planned)
            result = allocation.distribute(payment.amount, items)
        for line in result.lines:
            self.trigger(ctx, ev.PaymentApplied, payment_id=payment_id, target_kind=line.target_kind,
                         target_id=line.target_id, amount=line.amount, distributed=instruction.mode == "distribute")
        if instruction.mode == "explicit":
            targets = [(k, i, amount_due.amount_due(self.state, k, i)) for k, i in keys]
        else:
            targets = amount_due.uncovered_invoices(self.state)
        self.spend_credits(ctx, targets, with_payment=payment_id)
        if result.excess:
            self.trigger(ctx, ev.CreditIssued, credit_id=self.next_credit_id(payment_id), amount=result.excess,
                         kind="overpayment", reference=f"overpayment of payment {payment_id}",
                         payment_id=payment_id)

    def _applications_of(self, source_kind: str, source_id: str) -> list[Application]:
        return self.applications_where(lambda a: (a.source_kind, a.source_id) == (source_kind, source_id))

    def _unwind(self, ctx: ev.Context, payment_id: str, reason: str) -> None:
        for app in self.applications_where(lambda a: a.with_payment == payment_id and a.source_kind == "credit"):
            self.unapply(ctx, app, reason)
        for credit in self.credits_of(payment_id):
            for app in self._applications_of("credit", credit.id):
                self.unapply(ctx, app, reason)
            if credit.amount:
                self.trigger(ctx, ev.CreditReversed, credit_id=credit.id, amount=credit.amount, reason=reason)
        for app in self._applications_of("payment", payment_id):
            self.unapply(ctx, app, reason)
