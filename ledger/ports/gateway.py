"""The payment Gateway port (card, PayPal, ACH) and the edge check that keeps card numbers out.

Seed 003: customers pay "using either a credit card or ACH bank transfer"; "ACH payments will initially show as
Pending" until they succeed or fail, and the confirmation carries the gateway's transaction ID. Seed 004: a card
(or PayPal) authorization "is good for 29 days". Seed 002: saved methods keep only what the gateway hands back.

Only gateway tokens ever reach the ledger: anything that looks like a raw card number (13-19 digits passing the
Luhn check, with or without spaces and dashes) is refused before it can be stored or logged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from ledger.errors import ValidationError
from ledger.money import MAX_MINOR_UNITS

PaymentMethod = Literal["card", "paypal", "ach"]
AchStatus = Literal["pending", "settled", "returned"]

#: Longest token the ledger accepts (real gateway tokens are well under 64 characters).
MAX_TOKEN_LENGTH = 128
#: Longer input is refused without being scanned, so a huge string cannot tie up the check.
_MAX_SCANNED = 4096
_CARD_DIGITS = (13, 19)
_SEPARATORS = re.compile(r"[\s\-]+")
_DIGIT_RUN = re.compile(r"\d{13,}")


class AchReport(msgspec.Struct, frozen=True):
    """Where an ACH debit stands at the bank: ``pending`` while it clears, then ``settled``, or ``returned``
    with the bank's return code (R01 insufficient funds, R02 account closed ...), also after it settled."""

    status: AchStatus
    return_code: str | None = None


class ChargeResult(msgspec.Struct, frozen=True):
    """The gateway's answer to a charge, capture, void or refund.

    ``approved`` means the money moved (card, PayPal, capture, refund) or the hold was released (void);
    ``pending`` is an ACH debit still clearing; ``declined`` carries a machine-readable ``decline_code``.
    """

    transaction_id: str
    status: Literal["approved", "declined", "pending"]
    decline_code: str | None = None
    message: str = ""


class AuthorizationResult(msgspec.Struct, frozen=True):
    """The gateway's answer to a card authorization: a hold that expires at ``expires_at`` (29 days, seed 004)."""

    transaction_id: str
    status: Literal["approved", "declined"]
    decline_code: str | None = None
    expires_at: datetime | None = None


class Gateway(Protocol):
    """A card / PayPal / ACH gateway.

    Every call that moves money takes an ``idempotency_key``: the same key again answers the first result and
    moves no money twice; the same key with another request raises ``Conflict(code="idempotency_key_reused")``.
    When the gateway cannot be reached a call raises ``GatewayUnavailable``; retry it with the same key.
    """

    def charge(self, *, token: str, amount: int, currency: str, method: PaymentMethod,
               idempotency_key: str) -> ChargeResult:
        """Take ``amount`` minor units: card and PayPal approve or decline at once, ACH answers "pending"
        until the bank settles or returns the debit (seed 003)."""
        ...

    def authorize(self, *, token: str, amount: int, currency: str, idempotency_key: str) -> AuthorizationResult:
        """Hold ``amount`` on a card or PayPal account for 29 days (seed 004)."""
        ...

    def capture(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Capture (part of) a live hold; declined "authorization_expired" after 29 days and
        "amount_exceeds_authorization" above what is left of the hold (seed 004)."""
        ...

    def void(self, *, transaction_id: str) -> ChargeResult:
        """Release a hold (an order cancelled, or replaced by a reauthorization, seed 004); repeating is harmless."""
        ...

    def refund(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Refund (part of) a charge or capture; declined "refund_exceeds_charge" beyond what is left of it."""
        ...

    def ach_status(self, transaction_id: str) -> AchReport:
        """Where an ACH debit stands: pending, settled, or returned by the bank with its code (seed 003)."""
        ...


def _luhn_value(digit: int, offset: int) -> int:
    """A digit's share of the Luhn sum, ``offset`` places from the right end of the number."""
    if offset % 2 == 0:
        return digit
    return digit * 2 - 9 if digit > 4 else digit * 2


def _has_luhn_window(run: str) -> bool:
    """True when some 13-19 digit stretch of the digit string ``run`` passes the Luhn check."""
    low, high = _CARD_DIGITS
    values = [int(char) for char in run]
    for end in range(low, len(values) + 1):
        total = 0
        for offset in range(min(high, end)):
            total += _luhn_value(values[end - 1 - offset], offset)
            if offset + 1 >= low and total % 10 == 0:
                return True
    return False


def looks_like_card_number(text: str) -> bool:
    """True when ``text``, with spaces and dashes removed, holds 13-19 consecutive digits that pass Luhn.

    Seed 002 / DESIGN "methods": only a gateway token, brand, last four and expiry are ever stored, so a card
    number must be recognised however it is written ("4242 4242 4242 4242", "4242-4242-...", glued to other
    digits). A stretch inside a longer run of digits counts too: a false refusal is better than a stored PAN.
    """
    if not isinstance(text, str):
        return False
    compact = _SEPARATORS.sub("", text)
    return any(_has_luhn_window(match.group()) for match in _DIGIT_RUN.finditer(compact))


#: Between the groups of a card number as people write it: one or two spaces (any kind), dashes or dots.
_SEP = r"[\s.\-]{1,2}"
#: A card number in text, not inside a longer run of digits: contiguous 13-19 digits, or grouped as cards are
#: printed (4-4-4-4 with a shorter last group, 4-6-5) or as 4 then the rest; what follows (an expiry, a CVV)
#: may be glued on as one more group, so every run of whole groups of 13-19 digits is a candidate.
_PAN_IN_TEXT = re.compile(rf"(?<![0-9])(?:[0-9]{{13,19}}|[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{2,3}}(?:{_SEP}[0-9]{{1,4}})*"
                          rf"|[0-9]{{4}}{_SEP}[0-9]{{6}}{_SEP}[0-9]{{4,5}}|[0-9]{{4}}{_SEP}[0-9]{{9,15}})(?![0-9])")
#: Hashes and UUIDs (hex with digits in long runs) are ids, never card text, alone or inside a key.
_HEX_ID = re.compile(r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def card_number_in_text(text: str) -> bool:
    """True when ``text`` holds what reads as a card number: 13-19 digits (contiguous or in printed groups, not
    part of a longer number) that start as every card network's numbers do (2-6) and pass Luhn.

    Less eager than :func:`looks_like_card_number` (for tokens, where anything is suspect): ids, references and
    names carry dates, order numbers, hashes and UUIDs, which must pass; a bare 13-19 digit number starting
    with 2-6 that passes Luhn (one in ten) is refused, since it cannot be told from a card number.
    """
    if not isinstance(text, str) or len(text) < 13:
        return False
    for match in _PAN_IN_TEXT.finditer(_HEX_ID.sub(" ", text)):  # hashes and UUIDs, even inside a key
        groups = re.findall(r"[0-9]+", match.group())
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and digits[0] in "23456" and _luhn(digits):
                    return True
    return False


def card_number_field(value: Any, path: str = "") -> str | None:
    """The field (``invoices``, ``actor.name``, "" for the whole value) of the first text in ``value`` (a
    decoded command or event: dicts, lists, strings) that holds a card number, or None. A map's key is
    reported under the map's name, and names its value's field only when it is not a card number itself:
    the field is echoed and logged."""
    if isinstance(value, str):
        return path if card_number_in_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if card_number_in_text(name):
                return path
            found = card_number_field(item, f"{path}.{name}" if path else name)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = card_number_field(item, path)
            if found is not None:
                return found
    return None


def _luhn(digits: str) -> bool:
    return sum(_luhn_value(int(char), offset) for offset, char in enumerate(reversed(digits))) % 10 == 0


def check_token(token: str, field: str = "token") -> str:
    """Return ``token`` if it can be a gateway token, else raise a ValidationError naming ``field``.

    Raw card numbers are refused with code "raw_card_number" (seed 002: only gateway tokens are stored); an
    empty, over-long (> 128), non-ASCII, blank-containing or non-printable token with code "invalid_token".
    """
    if not isinstance(token, str) or not token:
        raise ValidationError("a gateway token is required", field=field, code="invalid_token")
    if len(token) > _MAX_SCANNED:
        raise ValidationError(f"a gateway token has at most {MAX_TOKEN_LENGTH} characters", field=field,
                              code="invalid_token")
    if looks_like_card_number(token):
        raise ValidationError("card numbers are never accepted; send the gateway's token", field=field,
                              code="raw_card_number")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValidationError(f"a gateway token has at most {MAX_TOKEN_LENGTH} characters", field=field,
                              code="invalid_token")
    if not all("!" <= char <= "~" for char in token):
        raise ValidationError("a gateway token is printable ASCII without spaces", field=field,
                              code="invalid_token")
    return token


def check_amount(amount: int, field: str = "amount") -> int:
    """A positive whole number of minor units (DESIGN: money is integer minor units), or a ValidationError."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_MINOR_UNITS:
        raise ValidationError("amount must be a positive integer of minor units", field=field, code="invalid_amount")
    return amount


def check_idempotency_key(key: str, field: str = "key") -> str:
    """An idempotency key of 1-255 printable characters (DESIGN invariant 6: same key twice = once)."""
    if not isinstance(key, str) or not key or len(key) > 255 or not key.isprintable():
        raise ValidationError("an idempotency key of 1-255 printable characters is required", field=field,
                              code="invalid_key")
    return key


def check_transaction_id(transaction_id: str, field: str = "transaction_id") -> str:
    """A gateway transaction id as the gateway returned it (1-128 printable characters), or a ValidationError."""
    if not isinstance(transaction_id, str) or not transaction_id or len(transaction_id) > 128 or (
            not transaction_id.isprintable()):
        raise ValidationError("a gateway transaction id is required", field=field, code="invalid_transaction_id")
    return transaction_id
