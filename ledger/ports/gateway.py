"""The payment Gateway port (card, PayPal, ACH) and the edge check that keeps card numbers out.

Only gateway tokens ever reach the ledger: anything that looks like a raw card number (13-19 digits passing
the Luhn check, with or without spaces and dashes) is refused before it can be stored or logged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from ledger.errors import ValidationError

PaymentMethod = Literal["card", "paypal", "ach"]


class ChargeResult(msgspec.Struct, frozen=True):
    """The gateway's answer to a charge, capture, void or refund."""

    transaction_id: str
    status: Literal["approved", "declined", "pending"]
    decline_code: str | None = None
    message: str = ""


class AuthorizationResult(msgspec.Struct, frozen=True):
    """The gateway's answer to a card authorization (a hold good for 29 days)."""

    transaction_id: str
    status: Literal["approved", "declined"]
    decline_code: str | None = None
    expires_at: datetime | None = None


class Gateway(Protocol):
    """A card / PayPal / ACH gateway; every money call is idempotent by ``idempotency_key``."""

    def charge(self, *, token: str, amount: int, currency: str, method: PaymentMethod,
               idempotency_key: str) -> ChargeResult:
        """Card and PayPal approve or decline at once; ACH answers "pending"."""
        ...

    def authorize(self, *, token: str, amount: int, currency: str, idempotency_key: str) -> AuthorizationResult:
        """Hold ``amount`` on a card."""
        ...

    def capture(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Capture (part of) a hold."""
        ...

    def void(self, *, transaction_id: str) -> ChargeResult:
        """Release a hold."""
        ...

    def refund(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Refund (part of) a charge or capture."""
        ...

    def ach_status(self, transaction_id: str) -> Literal["pending", "settled", "returned"]:
        """Where an ACH debit stands."""
        ...


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True when ``text`` (spaces and dashes removed) holds 13-19 consecutive digits passing Luhn."""
    compact = re.sub(r"[\s\-]", "", text)
    for match in re.finditer(r"\d{13,}", compact):
        run = match.group()
        for length in range(13, min(19, len(run)) + 1):
            for start in range(len(run) - length + 1):
                if _luhn_ok(run[start:start + length]):
                    return True
    return False


def check_token(token: str, field: str = "token") -> str:
    """A gateway token, or a ValidationError naming ``field`` (raw card numbers are refused outright)."""
    if not isinstance(token, str) or not token or len(token) > 128:
        raise ValidationError("a gateway token of 1-128 characters is required", field=field, code="invalid_token")
    if looks_like_card_number(token):
        raise ValidationError("card numbers are never accepted; send the gateway's token", field=field,
                              code="raw_card_number")
    if any(not c.isprintable() or c.isspace() for c in token):
        raise ValidationError("a gateway token has no spaces or control characters", field=field,
                              code="invalid_token")
    return token
