"""Approve Order Payment (seed 004): the page the cart email's link opens, when an order's price rose (a hold to
reauthorize) or a quote's real price is known (an order with no hold yet).

The link is ``/portal/cart/{raw token}?account=A&cart=C&order=O`` (``&hold=H`` for a reauthorization), built by
the email worker. Checking out needs the account's customer: a guest logs in first and comes back; another
account's link answers 404. The card (or PayPal account, seed 004) is the hold's own or a new one through the
gateway's tokenizer (only its token comes back; the ledger holds what the token is, a card or PayPal, and refuses a
bank account); the new hold's id is made when the page is shown, so pressing Approve twice authorizes once.

The ledger decides. The account's view lists its carts (never a token's hash): a cart it does not know, or one for
another order or hold, answers 404; a used, replaced or closed one 410; the amount shown is the ledger's. Approve
passes the cart and the link's raw token on the checkout command, and the ledger checks the token before the
gateway is asked: approved, declined (manual processing), or refused (a wrong token 404, a used or replaced cart
410, a stale one 409, issue 14). The page itself can only check the token's form: the read API never shows its hash.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote, urlencode

import msgspec
from litestar import get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from ledger.errors import LedgerError
from ledger.views import AuthorizationView, OrderView
from ledger.web.portal import PortalRequest, customer, logged_in, not_theirs, page, portal_of, session_of

#: A raw link token as ``ledger.ports.tokens.TokenIssuer`` makes them: 32 bytes, URL-safe base64, unpadded.
TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]{43}")
NOTHING_DUE = "This order has nothing left to pay, so there is nothing to approve."
#: The ledger's cart refusals and the page's status for each: a link that is not valid, one used or replaced.
CART_REFUSALS = {"cart_token_invalid": 404, "cart_mismatch": 404, "cart_used": 410, "cart_replaced": 410}
#: The ledger's stale-cart refusals (issue 14) in the customer's words; any other refusal shows the ledger's.
REFUSALS = {
    "order_paid": NOTHING_DUE,
    "order_not_open": "This order was changed (paid, cancelled or replaced) since the email was sent.",
    "not_reauthorizable": "This cart was already used, or its hold was released.",
    "exceeds_amount_due": "This order is already covered by a card authorization.",
    "amount_not_positive": NOTHING_DUE,
    "below_amount_due": "The price of this order changed since this page was shown.",
    "cart_token_invalid": "This link is not valid: open the newest email we sent you about this order.",
    "cart_mismatch": "This link is not valid: open the newest email we sent you about this order.",
    "cart_used": "This cart was already approved.",
    "cart_replaced": "A newer link was sent for this order: open the newest email we sent you about it.",
}
MANUAL = ("Your card could not be authorized for the new amount. Your order now goes to our customer service "
          "team for manual processing: a representative will call you to take the payment before it ships. "
          "Nothing was charged.")
DECLINED = ("Your card was declined ({}). Nothing was charged: try another card, or our customer service team will "
            "call you to take the payment before your order ships.")
#: The ledger's ``token_method_mismatch``: a bank account, which is never held (issue 14; seed 004: a hold is placed
#: on a card or PayPal).
NOT_HOLDABLE = ("A bank account cannot be authorized for an order: approve it with a card or PayPal. "
                "Nothing was charged.")


class CartLink(msgspec.Struct, frozen=True):
    """What the email's link names: the raw token, the account, the cart, its order, and the hold it replaces."""

    token: str
    account: str
    cart: str
    order: str
    hold: str | None = None

    def url(self, step: str = "") -> str:
        """This cart's page (``step``: ``/checkout``), its query carrying the link's ids."""
        query = {"account": self.account, "cart": self.cart, "order": self.order,
                 **({"hold": self.hold} if self.hold else {})}
        return f"/portal/cart/{quote(self.token, safe='')}{step}?{urlencode(query)}"


class Card(msgspec.Struct, frozen=True):
    """A new card as the gateway's tokenizer sends the browser back with it: its token, never its number."""

    token: str
    brand: str = ""
    last4: str = ""
    exp: str = ""


class Cart(msgspec.Struct, frozen=True):
    """The cart as the ledger's reads show it now: its order, what its checkout holds, the hold it replaces."""

    link: CartLink
    currency: str
    order: OrderView
    #: What the ledger holds when the cart is checked out now (its view's amount).
    due: str
    hold: AuthorizationView | None
    #: Whether the page offers a checkout: the ledger's cart is open (the ledger still decides at Approve).
    open: bool


async def cart_of(request: PortalRequest, link: CartLink) -> Cart:
    """The logged-in customer's cart named by ``link``; 404 for a malformed token, another account's link, a cart
    the ledger does not know, or one for another order or hold."""
    session, client = customer(request), portal_of(request).client
    if link.account != session.account or not TOKEN_FORM.fullmatch(link.token):
        raise NotFoundException("not found")
    try:
        view = await client.account(session.account)
    except LedgerError as error:
        not_theirs(error)
        raise
    order = next((o for o in view.orders if o.id == link.order), None)
    hold = next((a for a in view.authorizations if a.id == link.hold), None)
    cart = next((c for c in view.carts if c.id == link.cart), None)
    if order is None or cart is None or (cart.order, cart.authorization) != (link.order, link.hold) \
            or (link.hold and hold is None):
        raise NotFoundException("not found")
    return Cart(link, view.currency, order, cart.amount, hold, cart.status == "open")


def _tokenizer(request: PortalRequest, link: CartLink) -> str:
    """The gateway's card page, sending the browser back to this cart with the new card's token."""
    portal = portal_of(request)
    back = f"{portal.base_url}{link.url()}"
    return f"{portal.tokenizer_url}/tokenize?{urlencode({'kind': 'card', 'return_to': back})}"


async def _cart_page(request: PortalRequest, link: CartLink, status: int = 200, error: str = "") -> Template:
    """The cart (410 once it offers no checkout), with the card the tokenizer sent back, if any, and a new hold id."""
    cart = await cart_of(request, link)
    query = request.query_params
    card = Card(*(str(query.get(k, "")) for k in ("token", "brand", "last4", "exp"))) if "token" in query else None
    return page("cart", request, status if cart.open else 410, cart=cart, card=card,
                tokenizer=_tokenizer(request, link), action=link.url("/checkout"),
                new_hold=f"AUTH-{secrets.token_hex(4).upper()}", error=error)


def _logged_in(request: PortalRequest) -> bool:
    """Whether a customer is logged in (then their session is the request's, as the app's guard leaves it)."""
    session = session_of(request)
    request.state.session = session
    return session is not None


def _login_first(link: CartLink) -> Redirect:
    """To the login page, and back to the cart after (the app's guard would come back without the query, which
    names the cart)."""
    return Redirect(f"/portal/login?{urlencode({'next': link.url()})}", status_code=303)


@get("/portal/cart/{raw:str}")
async def cart_page(request: PortalRequest, raw: FromPath[str], account: FromQuery[str] = "",
                    cart: FromQuery[str] = "", order: FromQuery[str] = "",
                    hold: FromQuery[str | None] = None) -> Template | Redirect:
    """The cart email's link: the order, the amount to approve, the card; a guest logs in first and comes back."""
    link = CartLink(raw, account, cart, order, hold)
    if not _logged_in(request):
        return _login_first(link)
    return await _cart_page(request, link)


@post("/portal/cart/{raw:str}/checkout")
async def checkout(request: PortalRequest, raw: FromPath[str], account: FromQuery[str] = "",
                   cart: FromQuery[str] = "", order: FromQuery[str] = "",
                   hold: FromQuery[str | None] = None) -> Template | Redirect:
    """Approve: ``auth.reauthorize`` the hold (its card, or a new one) or ``auth.create`` the order's first hold,
    under the new hold's id made with the page (a second press gets the first answer)."""
    link = CartLink(raw, account, cart, order, hold)
    if not _logged_in(request):  # the session ended while the page was open: log in, then the cart again
        return _login_first(link)
    found, session, form = await cart_of(request, link), customer(request), await request.form()
    new_hold, card = str(form.get("new_hold", "")), str(form.get("card_token", "")) or None
    shown = str(form.get("amount", "")) or found.due  # what the customer approved (a page from before: the due)
    if shown != found.due:  # the order changed since the page was shown: the customer approves the new amount
        return _changed(request)
    proof = {"cart": link.cart, "cart_token": link.token, "amount": shown}
    if link.hold:
        name, body = "auth.reauthorize", {"authorization": link.hold, "new_authorization": new_hold, "token": card}
    else:
        name, body = "auth.create", {"authorization": new_hold, "order": link.order, "token": card or ""}
    try:
        outcome = await portal_of(request).client.command(
            name, session.account, {k: v for k, v in {**body, **proof}.items() if v is not None},
            actor=session.login_id)
    except LedgerError as refused:
        return await _refused(request, link, refused)
    if outcome.status == "manual_processing" and not link.hold:  # the first cart's card was declined
        return await _cart_page(request, link, 402, error=DECLINED.format(outcome.detail.replace("_", " ")))
    if outcome.status == "manual_processing":
        return page("message", request, 402, title="We will call you", message=MANUAL,
                    action=("/portal/", "Back to your account"))
    return Redirect(f"/portal/cart/approved/{quote(new_hold, safe='')}", status_code=303)


async def _refused(request: PortalRequest, link: CartLink, refused: LedgerError) -> Template:
    """The ledger's refusal of a checkout as a page: a declined card for an order's first hold is the cart again
    (402), a token that cannot be held (a bank account's) too (422); a link that is not valid 404, a used or
    replaced cart 410, anything else 409; nothing was charged."""
    not_theirs(refused)
    if refused.code == "token_method_mismatch":  # not declined: the cart is open for a card or PayPal
        return await _cart_page(request, link, 422, error=NOT_HOLDABLE)
    if refused.field == "token" and not link.hold:
        return await _cart_page(request, link, 402, error=DECLINED.format(refused.code.replace("_", " ")))
    if refused.field == "amount" and refused.code in ("cart_mismatch", "below_amount_due", "exceeds_amount_due"):
        return _changed(request)  # the ledger's amount moved between the page's read and the checkout
    return page("message", request, CART_REFUSALS.get(refused.code, 409), title="This cart cannot be used",
                message=f"{REFUSALS.get(refused.code, refused.message)} Nothing was charged.",
                action=("/portal/", "Back to your account"))


def _changed(request: PortalRequest) -> Template:
    """409: the amount to approve changed since the page was shown; nothing was charged, the cart shows the new."""
    return page("message", request, 409, title="This cart cannot be used",
                message=f"{REFUSALS['below_amount_due']} Open the link again to see the new amount. Nothing was "
                        "charged.", action=("/portal/", "Back to your account"))


@get("/portal/cart/approved/{hold:str}", guards=[logged_in])
async def approved(request: PortalRequest, hold: FromPath[str]) -> Template:
    """Success: the new hold's amount and when it expires (business time zone), read back from the ledger."""
    view = await portal_of(request).client.account(customer(request).account)
    found = next((a for a in view.authorizations if a.id == hold), None)
    if found is None:
        raise NotFoundException("not found")
    return page("cart_approved", request, hold=found, currency=view.currency)


ROUTES = [cart_page, checkout, approved]
