"""Events of card authorizations, 29-day holds, and reauthorization on a price rise (seed 004)."""

from __future__ import annotations

from datetime import datetime

from ledger.aggregates.events.base import Event, Minor


class AuthorizationEvent(Event, frozen=True, kw_only=True):
    area = "authorizations"


class CardAuthorized(AuthorizationEvent, frozen=True, kw_only=True):
    """A hold placed on a card for an order; ``cart_id``: the cart link whose checkout placed it (an order's first
    cart, seed 004), none for a hold placed otherwise or recorded before checkouts named their cart."""

    authorization_id: str
    order_id: str
    amount: Minor
    token: str
    transaction_id: str
    expires_at: datetime
    cart_id: str | None = None


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
    """The card was authorized for the new amount: a new hold replaces the old; ``cart_id``: the cart link checked
    out (none for a CSR's reauthorization by phone, or one recorded before checkouts named their cart)."""

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
