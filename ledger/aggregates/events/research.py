"""Events of guest payments that match no account yet (seed 000): they wait for research, never lost."""

from __future__ import annotations

from ledger.aggregates.events.base import Event, Minor
from ledger.aggregates.events.payments import Method


class ResearchEvent(Event, frozen=True, kw_only=True):
    area = "research"


class PaymentReceivedUnidentified(ResearchEvent, frozen=True, kw_only=True):
    payment_id: str
    amount: Minor
    currency: str
    method: Method
    token: str
    transaction_id: str
    reference: str
    idempotency_key: str


class PaymentMatched(ResearchEvent, frozen=True, kw_only=True):
    payment_id: str
    account_id: str
    order_id: str | None = None


class PaymentReferredToAccounting(ResearchEvent, frozen=True, kw_only=True):
    payment_id: str
    note: str = ""
