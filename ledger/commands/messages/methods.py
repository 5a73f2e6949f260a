"""Commands of payment methods: saved methods, the default one, autopay (seed 002)."""

from __future__ import annotations

from typing import Literal

from ledger.commands.messages.base import AccountCommand


class AddPaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str
    kind: Literal["card", "ach", "paypal"]
    token: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


class RemovePaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str


class SetDefaultPaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str


class EnableAutopay(AccountCommand, frozen=True, kw_only=True):
    method: str | None = None


class DisableAutopay(AccountCommand, frozen=True, kw_only=True):
    reason: str = ""


class RecordAutopayFailure(AccountCommand, frozen=True, kw_only=True):
    """The autopay worker's: the saved card has expired, so the invoice was not charged (seed 002)."""

    invoice: str
    method: str
