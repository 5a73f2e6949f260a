"""Commands of card authorizations: authorize, reauthorize, capture, void, expire (seed 004)."""

from __future__ import annotations

from ledger.commands.messages.base import AccountCommand


class CartCheckout(AccountCommand, frozen=True, kw_only=True):
    """A checkout of an "Approve Order Payment" cart link (seed 004): ``cart`` names it and ``cart_token`` is the
    link's raw token, the proof of the link. The ledger refuses a wrong token, another hold's or order's cart, a
    replaced or a used one before the gateway is asked. A CSR reauthorizing by phone names no cart."""

    cart: str | None = None
    cart_token: str | None = None


class AuthorizeCard(CartCheckout, frozen=True, kw_only=True):
    """Place a hold on a card for an order (at checkout, or the checkout of the order's first cart link)."""

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


class Reauthorize(CartCheckout, frozen=True, kw_only=True):
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
