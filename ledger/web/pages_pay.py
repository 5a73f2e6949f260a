"""Make a Payment (seeds 001-003): choose invoices and orders with a balance due by checkbox with an amount each
(seed 001's Pay Now: "all invoices and orders with unpaid balances"; overpaying makes credit), or one amount to
Distribute oldest invoice first; each line offers what pending (ACH) payments leave to pay, and a line they cover
cannot be chosen (issue 14); open credits are shown and applied by the ledger; a saved method or a new
card or bank account through the gateway's hosted tokenizer (only its token comes back here); a Review page, then
Success with the transaction id. The pay instruction travels in the URL between the steps, so nothing is kept
on the server until the customer presses Pay, and pressing it twice pays once (the payment id is the key)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlencode

import msgspec
from litestar import get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from ledger.errors import LedgerError, ValidationError
from ledger.money import format_amount, parse_amount
from ledger.views import AccountView, MethodView
from ledger.web.portal import PortalRequest, customer, logged_in, not_theirs, page, portal_of

NEW_METHODS = {"new_card": "card", "new_ach": "ach"}
#: The pay form's fields for the lines of each kind (the payment's ``invoices`` and ``orders``): the target's id
#: (one per row), its checkbox (checked rows only) and its amount (one per row).
LINE_FIELDS = {"invoices": ("inv", "pay", "amt"), "orders": ("ord", "pay_ord", "ord_amt")}


class Fields(Protocol):
    """What the pay form and the review page's query both offer: a field's value, or all its values (a form's
    value may be an uploaded file as well as a string, so each is read with ``str``)."""

    def __contains__(self, key: object, /) -> bool: ...

    def get(self, key: str, default: str, /) -> object: ...

    def getall(self, key: str, default: list[str], /) -> Sequence[object]: ...


class NewMethod(msgspec.Struct, frozen=True):
    """A card or bank account the hosted tokenizer just tokenized (only its token, brand and last four)."""

    kind: str
    token: str
    brand: str
    last4: str


class Draft(msgspec.Struct, frozen=True):
    """What the customer asked to pay: per invoice and per order (mode ``invoices``, the lines checked), or one
    amount distributed; and with which method."""

    mode: str
    lines: tuple[tuple[str, str], ...]
    total: str
    method: str
    orders: tuple[tuple[str, str], ...] = ()

    def query(self) -> dict[str, str | list[str]]:
        """The draft as query parameters (for the tokenizer's return address and the review page)."""
        query: dict[str, str | list[str]] = {"mode": self.mode, "total": self.total, "method": self.method}
        for (ids, boxes, amounts), lines in zip(LINE_FIELDS.values(), (self.lines, self.orders), strict=True):
            query.update({ids: [i for i, _ in lines], boxes: [i for i, _ in lines], amounts: [a for _, a in lines]})
        return query


def _checked(values: Fields, currency: str, kind: str) -> list[tuple[str, int]]:
    """(id, amount in minor units) of each checked line of ``kind`` (``invoices`` or ``orders``): an unchecked
    box sends nothing, and an amount that does not parse is a ValidationError naming its line."""
    ids, boxes, amounts = LINE_FIELDS[kind]
    chosen = {str(box) for box in values.getall(boxes, [])} if boxes in values else set()
    return [(str(target), parse_amount(str(text).strip(), currency, f"amount of {target}"))
            for target, text in zip(values.getall(ids, []), values.getall(amounts, []), strict=False)
            if str(target) in chosen]


def draft_of(values: Fields, currency: str) -> Draft:
    """Read the pay form (or the review page's query): a ValidationError names the field to fix."""
    mode = str(values.get("mode", "invoices"))
    method = str(values.get("method", "new_card"))
    if mode == "distribute":
        total = parse_amount(str(values.get("total", "")).strip(), currency, "total")
        return Draft("distribute", (), format_amount(total, currency), method)
    invoices, orders = _checked(values, currency, "invoices"), _checked(values, currency, "orders")
    if not invoices and not orders:
        raise ValidationError("choose at least one invoice or order, or enter an amount to distribute", field="pay")
    total = sum(minor for _, minor in (*invoices, *orders))

    def shown(lines: list[tuple[str, int]]) -> tuple[tuple[str, str], ...]:
        return tuple((target, format_amount(minor, currency)) for target, minor in lines)

    return Draft("invoices", shown(invoices), format_amount(total, currency), method, shown(orders))


async def _drafted(request: PortalRequest, values: Fields) -> tuple[AccountView, Draft] | Template:
    """The account's view and the draft read from ``values``, or the pay page naming what to fix."""
    view = await portal_of(request).client.account(customer(request).account)
    try:
        return view, draft_of(values, view.currency)
    except ValidationError as error:
        return await _pay_page(request, 400, error=error.message, field=error.field)


async def _pay_page(request: PortalRequest, status: int = 200, **context: object) -> Template:
    session, portal = customer(request), portal_of(request)
    view = await portal.client.account(session.account)
    unpaid = await portal.client.unpaid(session.account)  # invoices, then orders with a balance due (seed 001)
    # Distribute pays open invoices oldest first, skipping what pending payments will pay: its pre-fill is what
    # they leave (issue 14), which is also the exact balance due the ledger asks for.
    left = format_amount(sum(row.minor(row.left) for row in unpaid if row.kind == "invoice"), view.currency)
    return page("pay", request, status, view=view, unpaid=unpaid, left=left, exact=portal.exact, tab="pay",
                **context)


@get("/portal/pay", guards=[logged_in])
async def pay_form(request: PortalRequest, account: FromQuery[str | None] = None) -> Template:
    """The Make a Payment page; a statement's pay link names its account, and only its owner may follow it."""
    if account is not None and account != customer(request).account:
        raise NotFoundException("not found")
    return await _pay_page(request)


@post("/portal/pay", guards=[logged_in])
async def pay_choose(request: PortalRequest) -> Template | Redirect:
    """Apply Payment: check the form, then the method (the hosted tokenizer for a new one), then Review."""
    portal = portal_of(request)
    found = await _drafted(request, await request.form())
    if isinstance(found, Template):
        return found
    _, draft = found
    if draft.method in NEW_METHODS:
        back = f"{portal.base_url}/portal/pay/review?{urlencode(draft.query(), doseq=True)}"
        target = urlencode({"kind": NEW_METHODS[draft.method], "return_to": back})
        return Redirect(f"{portal.tokenizer_url}/tokenize?{target}")
    return Redirect(f"/portal/pay/review?{urlencode(draft.query(), doseq=True)}", status_code=303)


@get("/portal/pay/review", guards=[logged_in])
async def review(request: PortalRequest) -> Template:
    """Review the payment before paying (seed 002): invoices, orders and amounts, the method, the total."""
    portal, query = portal_of(request), request.query_params
    found = await _drafted(request, query)
    if isinstance(found, Template):
        return found
    view, draft = found
    saved = next((m for m in view.methods if m.id == draft.method), None)
    if draft.method not in NEW_METHODS and saved is None:
        raise NotFoundException("not found")
    method: NewMethod | MethodView = NewMethod(
        token=query.get("token", ""), brand=query.get("brand", ""), last4=query.get("last4", ""),
        kind=query.get("kind", NEW_METHODS.get(draft.method, ""))) if saved is None else saved
    return page("review", request, draft=draft, method=method, view=view, exact=portal.exact,
                payment=f"PORTAL-{secrets.token_hex(6).upper()}", tab="pay")


@post("/portal/pay/confirm", guards=[logged_in])
async def confirm_payment(request: PortalRequest) -> Template | Redirect:
    """Pay: one ``payment.submit`` (its id is the idempotency key, so a second press pays once)."""
    portal, session, form = portal_of(request), customer(request), await request.form()
    found = await _drafted(request, form)
    if isinstance(found, Template):
        return found
    _, draft = found
    payment = str(form.get("payment", ""))
    body: dict[str, str | bool | dict[str, str]] = {"payment": payment, "amount": draft.total, "exact": portal.exact}
    if draft.method in NEW_METHODS:
        body.update(method=NEW_METHODS[draft.method], token=str(form.get("token", "")))
    else:
        body["saved"] = draft.method  # a saved method (its token stays in the ledger)
    if draft.mode == "distribute":
        body["distribute"] = True
    else:
        body.update(invoices=dict(draft.lines), orders=dict(draft.orders))
    try:
        outcome = await portal.client.command("payment.submit", session.account, body, actor=session.login_id)
    except LedgerError as refused:
        not_theirs(refused)
        return await _pay_page(request, 400, error=refused.message, field=refused.field)
    if outcome.status == "declined":
        return await _pay_page(request, 402, error=declined_message(outcome.detail), field="method")
    return Redirect(f"/portal/pay/success/{payment}", status_code=303)


def declined_message(code: str) -> str:
    """What a declined card or account means to the customer (nothing was charged)."""
    reasons = {"insufficient_funds": "the card has insufficient funds", "expired_card": "the card has expired"}
    return (f"Your payment was declined ({reasons.get(code, 'the card issuer declined it')}). Nothing was "
            "charged and nothing was paid: try another card or bank account.")


@get("/portal/pay/success/{payment:str}", guards=[logged_in])
async def success(request: PortalRequest, payment: FromPath[str]) -> Template:
    """Success (seeds 002, 003): the transaction id; an ACH payment shows Pending until the bank decides."""
    rows = await portal_of(request).client.payments(customer(request).account)
    found = next((row for row in rows if row.id == payment), None)
    if found is None:
        raise NotFoundException("not found")
    return page("success", request, payment=found, tab="pay")


ROUTES = [pay_form, pay_choose, review, confirm_payment, success]
