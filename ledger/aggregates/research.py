"""Guest payments that match no order or customer yet (seed 000).

Staff apply a portal payment to the open order, deposit it on the account, or, when they cannot find the
order or guest, send it to Accounting for research. It waits here, never lost, until it is matched.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from ledger.aggregates import events as ev
from ledger.aggregates.limits import check_amount
from ledger.aggregates.standalone import Standalone
from ledger.errors import Conflict, ValidationError

E = TypeVar("E", bound=ev.Event)


class UnidentifiedPayment(Standalone):
    """One received payment awaiting research: received, maybe referred to Accounting, then matched."""

    first = ev.PaymentReceivedUnidentified
    unknown = ("unknown unidentified payment", "payment")

    def __init__(self, received: ev.PaymentReceivedUnidentified) -> None:
        super().__init__(received)
        self.received = received
        self.status = "awaiting_research"  # awaiting_research, referred, matched
        self.matched_account: str | None = None
        self.note = ""

    @classmethod
    def receive(cls, ctx: ev.Context, *, aggregate_id: UUID, payment: str, amount: int, currency: str,
                method: ev.payments.Method, token: str, transaction_id: str, reference: str,
                idempotency_key: str) -> UnidentifiedPayment:
        """Record a payment whose order or customer number matched nothing."""
        check_amount(amount, currency)
        event = ev.PaymentReceivedUnidentified(
            originator_id=aggregate_id, originator_version=1, timestamp=ctx.at, by=ctx.by, payment_id=payment,
            amount=amount, currency=currency, method=method, token=token, transaction_id=transaction_id,
            reference=reference, idempotency_key=idempotency_key)
        found = cls(event)
        found._pending.append(event)
        return found

    @staticmethod
    def check_method(method: ev.payments.Method) -> None:
        """A guest pays by card or PayPal: an ACH debit the bank may return in days, and research keeps only
        money that has settled (seed 000)."""
        if method == "ach":
            raise ValidationError("a guest payment is made by card or PayPal: an ACH debit stays pending for days "
                                  "and may come back, and a payment awaiting research is never settled or returned",
                                  field="method", code="ach_not_for_guests")

    @staticmethod
    def check_reference(reference: str) -> None:
        """What the guest typed (an order or customer number) is how research finds the account (seed 000)."""
        if not reference.strip():
            raise ValidationError("the order or customer number the guest gave is required", field="reference",
                                  code="reference_required")

    def refer_to_accounting(self, ctx: ev.Context, *, note: str = "") -> ev.PaymentReferredToAccounting:
        """Staff could not find the order or guest: Accounting researches it."""
        self._check_open()
        return self._trigger(ctx, ev.PaymentReferredToAccounting, payment_id=self.received.payment_id, note=note)

    def match(self, ctx: ev.Context, *, account: str, order: str | None = None) -> ev.PaymentMatched:
        """Research found the account (and maybe the order); the handler records the payment there."""
        self._check_open()
        return self._trigger(ctx, ev.PaymentMatched, payment_id=self.received.payment_id, account_id=account,
                             order_id=order)

    def _check_open(self) -> None:
        if self.status == "matched":
            raise Conflict(f"payment {self.received.payment_id} was already matched to {self.matched_account}",
                           field="payment", code="already_matched")

    def _trigger(self, ctx: ev.Context, cls: type[E], **fields: Any) -> E:
        at = ctx.stamp(self.modified_on, f"payment {self.received.payment_id}")
        event = cls(originator_id=self.id, originator_version=self.version + 1, timestamp=at, by=ctx.by,
                    **fields)
        self.mutate(event)
        self._pending.append(event)
        return event

    def mutate(self, event: ev.Event) -> None:
        """Apply one event."""
        if isinstance(event, ev.PaymentReferredToAccounting):
            self.status = "referred"
            self.note = event.note
        elif isinstance(event, ev.PaymentMatched):
            self.status = "matched"
            self.matched_account = event.account_id
        super().mutate(event)
