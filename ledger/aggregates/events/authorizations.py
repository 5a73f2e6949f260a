"""Events of authorizations (holds on a card or a PayPal account), 29-day holds, and reauthorization on a price
rise (seed 004: "if the customer pays by Credit Card or PayPal, eCommerce will authorize a charge ... good for 29
days"). Event names are history: ``CardAuthorized`` is the name of every hold placed, a PayPal one too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ledger.aggregates.events.base import Event, Minor

#: What a hold is placed on (seed 004): a card or a PayPal account; a bank account is debited, never held.
HoldMethod = Literal["card", "paypal"]


class AuthorizationEvent(Event, frozen=True, kw_only=True):
    area = "authorizations"


class CardAuthorized(AuthorizationEvent, frozen=True, kw_only=True):
    """A hold placed for an order on a card or, despite the name (kept: events are history), a PayPal account
    (``method``, issue 14); ``cart_id``: the cart link whose checkout placed it (an order's first cart, seed 004),
    none for a hold placed otherwise or recorded before checkouts named their cart."""

    authorization_id: str
    order_id: str
    amount: Minor
    token: str
    transaction_id: str
    expires_at: datetime
    cart_id: str | None = None
    #: What the token holds, card or PayPal (its capture is a payment by it); None in events recorded before holds
    #: kept it, which were on a card or a PayPal account alike: unknown, the gateway is asked at their capture.
    method: HoldMethod | None = None


class CardAuthorizationFailed(AuthorizationEvent, frozen=True, kw_only=True):
    """The checkout of an order's first cart link was declined (seed 004: "the credit card payment will need to be
    manually processed by the customer service team"): the order goes to manual processing, as after a failed
    reauthorization; the cart stays open for another card. ``authorization_id``: the hold it would have placed."""

    authorization_id: str
    order_id: str
    cart_id: str
    decline_code: str


class AuthorizationExpired(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str


class ReauthorizationRequested(AuthorizationEvent, frozen=True, kw_only=True):
    """A cart link ("Approve Order Payment") was sent for the new amount; only its token hash is kept."""

    authorization_id: str
    order_id: str
    new_amount: Minor
    cart_id: str
    cart_token_hash: str


class Reauthorized(AuthorizationEvent, frozen=True, kw_only=True):
    """The card (or PayPal account) was authorized for the new amount: a new hold replaces the old; ``cart_id``: the
    cart link checked out (none for a CSR's reauthorization by phone, or one recorded before checkouts named their
    cart)."""

    authorization_id: str
    new_authorization_id: str
    order_id: str
    amount: Minor
    transaction_id: str
    expires_at: datetime
    cart_id: str | None = None
    #: The gateway token the new hold is on (a checkout with another card); None: the old hold's (and events
    #: recorded before the new hold's token was kept).
    token: str | None = None
    #: What the new hold is on, card or PayPal (issue 14); None in events recorded before holds kept it: unknown,
    #: the gateway is asked at its capture (a PayPal account was held then too).
    method: HoldMethod | None = None


class ReauthorizationFailed(AuthorizationEvent, frozen=True, kw_only=True):
    """The card was refused for the new amount: the order needs manual processing by the CSR team."""

    authorization_id: str
    order_id: str
    decline_code: str
    #: The cart link whose checkout was declined (it stays open: the customer may try another card).
    cart_id: str | None = None


class AuthorizationCaptured(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str
    payment_id: str
    amount: Minor
    transaction_id: str


class AuthorizationVoided(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str
    reason: str = ""
