"""Events of payments and how their money is applied (seeds 000, 001, 003).

Conservation: for every settled payment, applied + credited (overpayment or deposit) + refunded = amount.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ledger.aggregates.events.base import Event, Minor

Method = Literal["card", "paypal", "ach"]
TargetKind = Literal["invoice", "order"]
Mode = Literal["explicit", "distribute", "deposit"]
#: What a deposit is held for (seed 000: service parts, labour, a service fee, a protection plan, a delivery).
Purpose = Literal["parts", "labour", "service_fee", "ppp", "delivery"]
PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]


class Line(msgspec.Struct, frozen=True, gc=False):
    """An amount meant for (or applied to) one invoice or order."""

    target_kind: TargetKind
    target_id: str
    amount: Minor


class Instruction(msgspec.Struct, frozen=True, gc=False):
    """What the payer asked: explicit amounts per invoice/order, oldest-first distribution, or a deposit (held
    for its ``purpose`` when it has one: no other payment spends it, a CSR applies it)."""

    mode: Mode
    lines: tuple[Line, ...] = ()
    exact: bool = False
    purpose: Purpose | None = None


class PaymentEvent(Event, frozen=True, kw_only=True):
    area = "payments"


class PaymentSubmitted(PaymentEvent, frozen=True, kw_only=True):
    """A payment reached the gateway; ``token`` is the gateway's token, never a card number.

    Version 2: the instruction may carry a deposit's ``purpose``. Version 3: ``planned``, what a distribution
    left pending (ACH) will pay when it settles, decided when it is submitted: until then those invoices are
    covered (issue 14, seed 003); empty for every other payment (a distribution that found nothing due plans
    nothing); ``None`` in the bodies recorded before (upcast so): such a pending distribution is read as paying
    the oldest invoices that other pending payments leave due, as its settlement will."""

    class_version = 3

    payment_id: str
    amount: Minor
    method: Method
    token: str
    transaction_id: str
    idempotency_key: str
    request_hash: str
    instruction: Instruction
    source: str | None = None
    planned: tuple[Line, ...] | None = ()


class PaymentSettled(PaymentEvent, frozen=True, kw_only=True):
    payment_id: str


class PaymentDeclined(PaymentEvent, frozen=True, kw_only=True):
    payment_id: str
    decline_code: str


class PaymentReturned(PaymentEvent, frozen=True, kw_only=True):
    """An ACH payment came back (R01 ...): its applications were undone just before this event."""

    payment_id: str
    return_code: str = "R01"


class PaymentRefunded(PaymentEvent, frozen=True, kw_only=True):
    payment_id: str
    amount: Minor
    refund_transaction_id: str
    idempotency_key: str


class ApplicationEvent(Event, frozen=True, kw_only=True):
    area = "application"


class PaymentApplied(ApplicationEvent, frozen=True, kw_only=True):
    """Money of a payment applied to an invoice or an order; ``moved_from`` names the order or invoice it was
    on before, when it follows an order to its replacement or onto the order's invoice."""

    payment_id: str
    target_kind: TargetKind
    target_id: str
    amount: Minor
    distributed: bool = False
    moved_from: str | None = None
    #: Set when an ACH return of that payment moved this money where it would be without it (invariant 5).
    reallocated_for: str | None = None


class PaymentUnapplied(ApplicationEvent, frozen=True, kw_only=True):
    payment_id: str
    target_kind: TargetKind
    target_id: str
    amount: Minor
    reason: str


class PaymentDeposited(ApplicationEvent, frozen=True, kw_only=True):
    """The payment is held on the account (seed 000, service issues); it becomes a deposit credit, kept for its
    ``purpose`` when it has one (version 2)."""

    class_version = 2

    payment_id: str
    credit_id: str
    amount: Minor
    purpose: Purpose | None = None
