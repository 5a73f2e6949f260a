"""Commands of card authorizations: authorize, reauthorize, capture, void, expire (seed 004)."""

from __future__ import annotations

from ledger.commands.messages.base import AccountCommand


class AuthorizeCard(AccountCommand, frozen=True, kw_only=True):
    authorization: str
    order: str
    amount: str
    token: str
    key: str | None = None


class ExpireAuthorization(AccountCommand, frozen=True, kw_only=True):
    authorization: str


class RequestReauthorization(AccountCommand, frozen=True, kw_only=True):
    authorization: str
    amount: str | None = None


class Reauthorize(AccountCommand, frozen=True, kw_only=True):
    """Checkout of the cart link: the card is authorized for the new amount (seed 004)."""

    authorization: str
    new_authorization: str
    amount: str | None = None
    token: str | None = None
    key: str | None = None


class CaptureAuthorization(AccountCommand, frozen=True, kw_only=True):
    authorization: str
    payment: str
    amount: str | None = None
    key: str | None = None


class VoidAuthorization(AccountCommand, frozen=True, kw_only=True):
    authorization: str
    reason: str = ""
