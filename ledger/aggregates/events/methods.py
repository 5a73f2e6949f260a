"""Events of saved payment methods and autopay (seed 002): gateway token, brand, last four and expiry only."""

from __future__ import annotations

from typing import Literal

from ledger.aggregates.events.base import Event


class MethodEvent(Event, frozen=True, kw_only=True):
    area = "methods"


class PaymentMethodAdded(MethodEvent, frozen=True, kw_only=True):
    method_id: str
    kind: Literal["card", "ach", "paypal"]
    token: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


class PaymentMethodRemoved(MethodEvent, frozen=True, kw_only=True):
    method_id: str


class DefaultPaymentMethodSet(MethodEvent, frozen=True, kw_only=True):
    method_id: str


class AutopayEnabled(MethodEvent, frozen=True, kw_only=True):
    method_id: str


class AutopayDisabled(MethodEvent, frozen=True, kw_only=True):
    reason: str = ""


class AutopayFailed(MethodEvent, frozen=True, kw_only=True):
    """Autopay could not pay an invoice with its saved method (``reason``: ``card_expired``); nothing was charged.
    The customer is emailed and the CSR dashboard lists the invoice until it is paid (seed 002)."""

    invoice_id: str
    method_id: str
    reason: str
