"""Approve Order Payment (seed 004): the page the cart email's link opens, when an order's price rose (a hold to
reauthorize) or a quote's real price is known (an order with no hold yet).

The link is ``/portal/cart/{raw token}?account=A&cart=C&order=O`` (``&hold=H`` for a reauthorization), built by
the email worker. Checking out needs the account's customer (``Reauthorize`` and ``AuthorizeCard`` are not a
guest's, ``ledger.commands.dispatch.GUEST``): a guest logs in first and comes back; another account's link
answers 404. The card is the hold's own or a new one through the gateway's tokenizer (only its token comes back);
the new hold's id is made when the page is shown, so pressing Approve twice authorizes once. The ledger decides:
approved, declined (a reauthorization goes to manual processing), or refused (a used or stale cart, issue 14).

The portal cannot check the raw token: the read API shows neither the cart nor its token hash (README, route
table), so the link's token is only checked for its form; the customer's session is what lets a checkout in.
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
from ledger.money import format_amount
from ledger.views import AuthorizationView, OrderView
from ledger.web.portal import PortalRequest, customer, logged_in, not_theirs, page, portal_of, session_of

#: A raw link token as ``ledger.ports.tokens.TokenIssuer`` makes them: 32 bytes, URL-safe base64, unpadded.
TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]{43}")
#: Hold statuses a cart may be checked out from (the ledger's ``reauthorizable``, less a hold never sent a cart).
AWAITING = frozenset({"reauth_requested", "expired", "failed"})
#: Holds still live at the gateway: an order with one has had its first cart checked out.
LIVE = frozenset({"active", "reauth_requested", "failed"})
NOTHING_DUE = "This order has nothing left to pay, so there is nothing to approve."
#: The ledger's stale-cart refusals (issue 14) in the customer's words; any other refusal shows the ledger's.
REFUSALS = {
    "order_paid": NOTHING_DUE,
    "order_not_open": "This order was changed (paid, cancelled or replaced) since the email was sent.",
    "not_reauthorizable": "This cart was already used, or its hold was released.",
    "exceeds_amount_due": "This order is already covered by a card authorization.",
    "amount_not_positive": NOTHING_DUE,
    "below_amount_due": "The price of this order changed since this page was shown.",
}
MANUAL = ("Your card could not be authorized for the new amount. Your order now goes to our customer service "
          "team for manual processing: a representative will call you to take the payment before it ships. "
          "Nothing was charged.")
DECLINED = "Your card was declined ({}). Nothing was charged: try another card."


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


class Due(msgspec.Struct, frozen=True):
    """A row of ``ledger.read.unpaid`` as the cart reads it: an open invoice or order and its balance due."""

    kind: str
    id: str
    open: str


class Cart(msgspec.Struct, frozen=True):
    """The cart as the ledger's reads show it now: its order, what is due on it, the hold it replaces."""

    link: CartLink
    currency: str
    order: OrderView
    due: str
    hold: AuthorizationView | None
    #: Whether the page offers a checkout (the ledger still decides when Approve is pressed).
    open: bool


async def cart_of(request: PortalRequest, link: CartLink) -> Cart:
    """The logged-in customer's cart named by ``link``; 404 for a malformed token, another account's link, or an
    order or hold the account does not have."""
    session, client = customer(request), portal_of(request).client
    if link.account != session.account or not TOKEN_FORM.fullmatch(link.token):
        raise NotFoundException("not found")
    try:
        view = await client.account(session.account)
        unpaid = await client.read("unpaid", list[Due], account=session.account)
    except LedgerError as error:
        not_theirs(error)
        raise
    order = next((o for o in view.orders if o.id == link.order), None)
    hold = next((a for a in view.authorizations if a.id == link.hold), None)
    if order is None or (link.hold and (hold is None or hold.order != link.order)):
        raise NotFoundException("not found")
    due = next((row.open for row in unpaid if (row.kind, row.id) == ("order", link.order)), None)
    if hold is None:
        awaiting = all(a.order != link.order or a.status not in LIVE for a in view.authorizations)
    else:
        awaiting = hold.status in AWAITING
    return Cart(link, view.currency, order, due or format_amount(0, view.currency), hold,
                due is not None and awaiting)


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
    if link.hold:
        name, body = "auth.reauthorize", {"authorization": link.hold, "new_authorization": new_hold, "token": card}
    else:
        name, body = "auth.create", {"authorization": new_hold, "order": link.order, "amount": found.due,
                                     "token": card or ""}
    try:
        outcome = await portal_of(request).client.command(name, session.account,
                                                          {k: v for k, v in body.items() if v is not None},
                                                          actor=session.login_id)
    except LedgerError as refused:
        not_theirs(refused)
        if refused.field == "token" and not link.hold:  # a card declined for an order's first hold
            return await _cart_page(request, link, 402, error=DECLINED.format(refused.code.replace("_", " ")))
        return page("message", request, 409, title="This cart cannot be used",
                    message=f"{REFUSALS.get(refused.code, refused.message)} Nothing was charged.",
                    action=("/portal/", "Back to your account"))
    if outcome.status == "manual_processing":
        return page("message", request, 402, title="We will call you", message=MANUAL,
                    action=("/portal/", "Back to your account"))
    return Redirect(f"/portal/cart/approved/{quote(new_hold, safe='')}", status_code=303)


@get("/portal/cart/approved/{hold:str}", guards=[logged_in])
async def approved(request: PortalRequest, hold: FromPath[str]) -> Template:
    """Success: the new hold's amount and when it expires (business time zone), read back from the ledger."""
    view = await portal_of(request).client.account(customer(request).account)
    found = next((a for a in view.authorizations if a.id == hold), None)
    if found is None:
        raise NotFoundException("not found")
    return page("cart_approved", request, hold=found, currency=view.currency)


ROUTES = [cart_page, checkout, approved]
