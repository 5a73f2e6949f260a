"""Events of card authorizations, 29-day holds, and reauthorization on a price rise (seed 004)."""

from __future__ import annotations

from datetime import datetime

from ledger.aggregates.events.base import Event, Minor


class AuthorizationEvent(Event, frozen=True, kw_only=True):
    area = "authorizations"


class CardAuthorized(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str
    order_id: str
    amount: Minor
    token: str
    transaction_id: str
    expires_at: datetime


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
    authorization_id: str
    new_authorization_id: str
    order_id: str
    amount: Minor
    transaction_id: str
    expires_at: datetime


class ReauthorizationFailed(AuthorizationEvent, frozen=True, kw_only=True):
    """The card was refused for the new amount: the order needs manual processing by the CSR team."""

    authorization_id: str
    order_id: str
    decline_code: str


class AuthorizationCaptured(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str
    payment_id: str
    amount: Minor
    transaction_id: str


class AuthorizationVoided(AuthorizationEvent, frozen=True, kw_only=True):
    authorization_id: str
    reason: str = ""
