"""The payment Gateway port (card, PayPal, ACH) and the edge check that keeps card numbers out.

Seed 003: customers pay "using either a credit card or ACH bank transfer"; "ACH payments will initially show as
Pending" until they succeed or fail, and the confirmation carries the gateway's transaction ID. Seed 004: a card
(or PayPal) authorization "is good for 29 days". Seed 002: saved methods keep only what the gateway hands back.

Only gateway tokens ever reach the ledger: a token that looks like a raw card number (13-19 digits passing the
Luhn check, whatever separates them; :mod:`ledger.cards`) is refused before it can be stored or logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from ledger.cards import looks_like_card_number
from ledger.errors import ValidationError
from ledger.money import MAX_MINOR_UNITS

PaymentMethod = Literal["card", "paypal", "ach"]
AchStatus = Literal["pending", "settled", "returned"]

#: Longest token the ledger accepts (real gateway tokens are well under 64 characters).
MAX_TOKEN_LENGTH = 128
#: Longer input is refused without being scanned, so a huge string cannot tie up the check.
_MAX_SCANNED = 4096


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


class GatewayTransaction(msgspec.Struct, frozen=True, kw_only=True):
    """One transaction as the gateway's list API (or settlement report) shows it: what was done (``kind``),
    under which idempotency key (the merchant reference the ledger sends), for how much, and where it stands.

    ``status``: approved, declined, pending, settled or returned (ACH), voided (a released hold); ``live`` is
    True for a hold that still blocks the customer's money (approved, not voided, not expired, not all
    captured); ``token`` the gateway's token of the method charged or held; ``parent`` is the hold a capture
    took from or the charge a refund gave back."""

    transaction_id: str
    kind: Literal["charge", "authorization", "capture", "refund"]
    idempotency_key: str
    amount: int
    currency: str | None
    status: str
    created_at: datetime
    parent: str | None = None
    live: bool = False
    #: The gateway's token of the card, PayPal or bank account charged or held (never a card number).
    token: str | None = None


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

    def token_method(self, token: str) -> PaymentMethod | None:
        """What a token pays with (card, paypal or ach), or None when the gateway does not know the token (a
        charge then declines it). A lookup: it moves no money."""
        ...

    def find(self, *, idempotency_key: str) -> ChargeResult | None:
        """What was done under ``idempotency_key`` (a charge, hold, capture or refund) as it was first answered,
        or None: nothing was. A lookup: it moves no money and places no hold.

        For a payment whose answer was lost when the ledger can no longer decide it afresh (another writer paid
        or closed its invoice or order meanwhile): whether the gateway charged decides between recording the
        money and refusing the request. It must see every request the gateway has acted on (read the gateway's
        own idempotency records, or its transactions by the merchant's reference, which the key is sent as),
        never an eventually consistent search that could miss one made seconds ago.
        """
        ...

    def authorize(self, *, token: str, amount: int, currency: str, idempotency_key: str) -> AuthorizationResult:
        """Hold ``amount`` on a card or PayPal account for 29 days (seed 004)."""
        ...

    def capture(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Capture (part of) a live hold; declined "authorization_expired" after 29 days and
        "amount_exceeds_authorization" above what is left of the hold (seed 004)."""
        ...

    def void(self, *, transaction_id: str) -> ChargeResult:
        """Release a hold (an order cancelled, or replaced by a reauthorization, seed 004); repeating is harmless.
        A hold past its 29 days released itself: declined "authorization_expired", nothing is held."""
        ...

    def refund(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Refund (part of) a charge or capture; declined "refund_exceeds_charge" beyond what is left of it."""
        ...

    def ach_status(self, transaction_id: str) -> AchReport:
        """Where an ACH debit stands: pending, settled, or returned by the bank with its code (seed 003)."""
        ...

    def transactions(self, *, since: datetime, after: str | None = None,
                     limit: int = 500) -> list[GatewayTransaction]:
        """The transactions made at or after ``since``, oldest first, at most ``limit``; ``after`` (the last
        transaction id of the previous page) continues a listing. The shape of a real gateway's list API
        (Stripe's ``created[gte]`` + ``starting_after``, Braintree's transaction search by created-at range,
        Adyen's settlement details report): id, merchant reference (the idempotency key), kind, amount, status."""
        ...



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


def check_transaction_id(transaction_id: str, field: str = "transaction_id") -> str:
    """A gateway transaction id as the gateway returned it (1-128 printable characters), or a ValidationError."""
    if not isinstance(transaction_id, str) or not transaction_id or len(transaction_id) > 128 or (
            not transaction_id.isprintable()):
        raise ValidationError("a gateway transaction id is required", field=field, code="invalid_transaction_id")
    return transaction_id


class WatchedGateway:
    """The gateway as one command attempt sees it, noting what it did there (``acted``: what and which
    transaction), so that a failure to record it afterwards (a full disk, the store gone) can say so."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.acted: list[str] = []
        #: The idempotency keys the gateway answered "declined" (nothing moved under them).
        self.declined: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.gateway, name)
        if name not in ("charge", "authorize", "capture", "refund", "void"):
            return method

        def watched(**kwargs: Any) -> Any:
            result = method(**kwargs)
            if result.status in ("approved", "pending"):
                self.acted.append(f"{name} {result.transaction_id}")
            elif "idempotency_key" in kwargs:
                self.declined.add(kwargs["idempotency_key"])
            return result

        return watched
