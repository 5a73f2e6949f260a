"""Commands of payments: submitting, settling, returning and refunding a payment."""

from __future__ import annotations

from typing import Literal

import msgspec

from ledger.aggregates.events.payments import Purpose
from ledger.commands.messages.base import AccountCommand


class SubmitPayment(AccountCommand, frozen=True, kw_only=True):
    """Pay by card, PayPal or ACH with a ``token``, or with a ``saved`` method (seed 002: "use a saved payment";
    its kind is the ``method``): explicit amounts per invoice/order, ``distribute`` oldest first, or ``deposit``
    on the account, held for its ``purpose`` when it has one (seed 000). ``exact`` demands the exact amount due
    (seed 003)."""

    payment: str
    amount: str
    method: Literal["card", "paypal", "ach"] | None = None
    token: str | None = None
    saved: str | None = None
    invoices: dict[str, str] = msgspec.field(default_factory=dict)
    orders: dict[str, str] = msgspec.field(default_factory=dict)
    distribute: bool = False
    deposit: bool = False
    purpose: Purpose | None = None
    exact: bool = False
    key: str | None = None


class SettlePayment(AccountCommand, frozen=True, kw_only=True):
    payment: str


class ReturnPayment(AccountCommand, frozen=True, kw_only=True):
    payment: str
    code: str = "R01"


class RefundPayment(AccountCommand, frozen=True, kw_only=True):
    payment: str
    amount: str
    key: str | None = None
