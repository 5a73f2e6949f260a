"""Events of customer credits: memos, overpayments and deposits (seeds 001, 002)."""

from __future__ import annotations

from typing import Literal

from ledger.aggregates.events.base import Event, Minor
from ledger.aggregates.events.payments import TargetKind

CreditKind = Literal["memo", "overpayment", "deposit"]


class CreditEvent(Event, frozen=True, kw_only=True):
    area = "credits"


class CreditIssued(CreditEvent, frozen=True, kw_only=True):
    credit_id: str
    amount: Minor
    kind: CreditKind = "memo"
    reference: str = ""
    payment_id: str | None = None


class CreditApplied(CreditEvent, frozen=True, kw_only=True):
    """Open credit applied automatically along with payment ``with_payment`` (seed 001), by hand, or moved with
    an order (``moved_from``, as for :class:`PaymentApplied`)."""

    credit_id: str
    target_kind: TargetKind
    target_id: str
    amount: Minor
    with_payment: str | None = None
    moved_from: str | None = None
    #: Set when an ACH return of that payment moved this credit where it would be without it (invariant 5).
    reallocated_for: str | None = None


class CreditUnapplied(CreditEvent, frozen=True, kw_only=True):
    credit_id: str
    target_kind: TargetKind
    target_id: str
    amount: Minor
    reason: str
    with_payment: str | None = None


class CreditReversed(CreditEvent, frozen=True, kw_only=True):
    """Credit taken back because the payment that funded it was returned or refunded."""

    credit_id: str
    amount: Minor
    reason: str


class CreditRefunded(CreditEvent, frozen=True, kw_only=True):
    credit_id: str
    amount: Minor
    refund_transaction_id: str
    idempotency_key: str
