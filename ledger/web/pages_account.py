"""The customer's own pages (seeds 001-003): the dashboard header, the Invoices, Payments, Credits and Order
History tabs, an invoice and its PDF, and My account with its payment methods and autopay. Each reads the ledger's
read API for the session's account only: an id of anything else answers 404."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from litestar import get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from ledger.errors import LedgerError
from ledger.web.invoice_pdf import Formats, InvoiceDocument, filename
from ledger.web.ledger_client import CommandBody, LedgerClient
from ledger.web.portal import PortalRequest, customer, logged_in, not_theirs, page, portal_of
from ledger.web.replies import HistoryRow, InvoiceRow

PERIODS = {"30d": "Last 30 days", "3m": "Last 3 months", "6m": "Last 6 months", "year": "By year"}
INVOICE_FILTERS = {"": "All", "unpaid": "Unpaid", "open": "Open", "partially_paid": "Partially paid",
                   "paid": "Paid", "void": "Void"}


def _mine(request: PortalRequest) -> tuple[LedgerClient, str]:
    """The ledger client, and the account of the session it reads for."""
    return portal_of(request).client, customer(request).account


@get("/portal/", guards=[logged_in])
async def dashboard(request: PortalRequest) -> Template:
    """Seed 002's header: account balance, last paid, Make Payment when an invoice is open or an order has a
    balance due (seed 001's Pay Now lists both), View Last Invoice."""
    client, mine = _mine(request)
    header = await client.balance(mine)
    invoices = await client.invoices(mine)
    unpaid = [i for i in invoices if i.status in ("open", "partially_paid")]
    return page("dashboard", request, header=header, unpaid=unpaid, last=invoices[-1] if invoices else None,
                tab="dashboard")


@get("/portal/invoices", guards=[logged_in])
async def invoices(request: PortalRequest, status: FromQuery[str] = "") -> Template:
    """Invoices tab: id, date, due date, total, status; filter by status (seed 003: only unpaid)."""
    if status not in INVOICE_FILTERS:
        return page("message", request, 400, title="Unknown filter", message="Choose a status from the list.")
    client, mine = _mine(request)
    rows = await client.invoices(mine, status or None)
    return page("invoices", request, rows=rows, status=status, filters=INVOICE_FILTERS, tab="invoices")


async def _invoice_of(client: LedgerClient, mine: str, invoice: str) -> tuple[InvoiceRow, HistoryRow | None]:
    """One invoice of the account ``mine`` and the order it bills, if any (404 for an id not on the account)."""
    found = next((row for row in await client.invoices(mine) if row.id == invoice), None)
    if found is None:
        raise NotFoundException("not found")
    if found.order_id is None:
        return found, None
    history = await client.history(mine)
    return found, next((h for h in history if h.kind == "order" and h.id == found.order_id), None)


@get("/portal/invoices/{invoice:str}", guards=[logged_in])
async def invoice(request: PortalRequest, invoice: FromPath[str]) -> Template:
    """One invoice of the customer's account (404 for any other id)."""
    found, order = await _invoice_of(*_mine(request), invoice)
    return page("invoice", request, invoice=found, order=order, tab="invoices")


@get("/portal/invoices/{invoice:str}/pdf", guards=[logged_in])
async def invoice_pdf(request: PortalRequest, invoice: FromPath[str]) -> Response[bytes]:
    """Seed 002's PDF icon: the invoice's complete details as a PDF, shown in the browser (404 as its page). The
    PDF is drawn in a worker thread, one at a time, and kept (:class:`PdfDrawer`): 7-20 ms for a usual invoice."""
    client, mine = _mine(request)
    found, order = await _invoice_of(client, mine, invoice)
    view = await client.account(mine)
    document = InvoiceDocument(invoice=found, order=order, account=mine, name=view.name,
                               email=customer(request).email, zone=portal_of(request).zone.key)
    body = await portal_of(request).pdfs.draw(document, Formats.of(request.app))
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename(found.id)}"', "Cache-Control": "private, no-store"})


@get("/portal/payments", guards=[logged_in])
async def payments(request: PortalRequest) -> Template:
    """Payments tab: id, date, method, amount, status (ACH pending until settled or returned), transaction id."""
    client, mine = _mine(request)
    rows = await client.payments(mine)
    return page("payments", request, rows=list(reversed(rows)), tab="payments")


@get("/portal/credits", guards=[logged_in])
async def credits(request: PortalRequest) -> Template:
    """Credits tab: id, date, amount, balance, currency, reference."""
    client, mine = _mine(request)
    rows = await client.credits(mine)
    return page("credits", request, rows=rows, tab="credits")


@get("/portal/history", guards=[logged_in])
async def history(request: PortalRequest, period: FromQuery[str] = "30d",
                  year: FromQuery[int | None] = None) -> Template:
    """Order History (seed 001): orders from every channel and invoices, newest first, by period or year."""
    if period not in PERIODS:
        return page("message", request, 400, title="Unknown period", message="Choose a period from the list.")
    client, mine = _mine(request)
    try:
        rows = await client.history(mine, period, year if period == "year" else None)
    except LedgerError as refused:
        return page("message", request, 400, title="Cannot show that period", message=refused.message)
    return page("history", request, rows=rows, period=period, year=year, periods=PERIODS, tab="history")


@get("/portal/orders/{order:str}", guards=[logged_in])
async def order(request: PortalRequest, order: FromPath[str]) -> Template:
    """View Full Order (seed 001): every line of one of the customer's orders (404 for any other id)."""
    client, mine = _mine(request)
    found = next((row for row in await client.history(mine) if row.kind == "order" and row.id == order), None)
    if found is None:
        raise NotFoundException("not found")
    return page("order", request, order=found, tab="history")


@get("/portal/account", guards=[logged_in])
async def account(request: PortalRequest, done: FromQuery[str | None] = None) -> Template:
    """My account: contact details (read only), payment methods, autopay, change password."""
    client, mine = _mine(request)
    return page("account", request, view=await client.account(mine), done=done, tab="account")


@get("/portal/account/methods/new", guards=[logged_in])
async def new_method(request: PortalRequest, kind: FromQuery[str] = "card") -> Redirect:
    """Add Payment Method: off to the gateway's hosted page; the card or account never reaches this server."""
    portal = portal_of(request)
    back = f"{portal.base_url}/portal/account/methods/added"
    return Redirect(f"{portal.tokenizer_url}/tokenize?{urlencode({'kind': kind, 'return_to': back})}")


@get("/portal/account/methods/added", guards=[logged_in])
async def method_added(request: PortalRequest, token: FromQuery[str], brand: FromQuery[str],
                       last4: FromQuery[str], kind: FromQuery[str] = "card", exp: FromQuery[str] = "") -> Template:
    """What the tokenizer sent back (a token, brand, last four, expiry): Save it, or not."""
    return page("method_save", request, token=token, brand=brand, last4=last4, kind=kind, exp=exp, tab="account")


@post("/portal/account/methods", guards=[logged_in])
async def save_method(request: PortalRequest) -> Template | Redirect:
    """Save a tokenized method on the account."""
    form = await request.form()
    body: dict[str, str | int] = {"method": f"M-{secrets.token_hex(4).upper()}", "kind": form.get("kind", "card"),
                                  "token": form.get("token", ""), "brand": form.get("brand", ""),
                                  "last4": form.get("last4", "")}
    month, _, year = str(form.get("exp", "")).partition("/")
    if month.isdigit() and year.isdigit():
        body.update(exp_month=int(month), exp_year=int(year))
    return await _act(request, "method.add", body, "method_added")


@post("/portal/account/methods/{method:str}/default", guards=[logged_in])
async def default_method(request: PortalRequest, method: FromPath[str]) -> Template | Redirect:
    """Set As Default."""
    return await _act(request, "method.default", {"method": method}, "default_set")


@post("/portal/account/methods/{method:str}/delete", guards=[logged_in])
async def delete_method(request: PortalRequest, method: FromPath[str]) -> Template | Redirect:
    """Delete a saved method."""
    return await _act(request, "method.remove", {"method": method}, "method_deleted")


@post("/portal/account/autopay", guards=[logged_in])
async def autopay(request: PortalRequest) -> Template | Redirect:
    """Autopay Future Invoices on (with the chosen or default method) or off."""
    form = await request.form()
    if form.get("autopay") == "on":
        chosen = str(form.get("method", ""))
        return await _act(request, "autopay.enable", {"method": chosen} if chosen else {}, "autopay_on")
    return await _act(request, "autopay.disable", {}, "autopay_off")


async def _act(request: PortalRequest, command: str, body: CommandBody, done: str) -> Template | Redirect:
    """Run a My account command; a refusal is shown on the page, an id not on the account is 404."""
    session, client = customer(request), portal_of(request).client
    try:
        await client.command(command, session.account, body, actor=session.login_id)
    except LedgerError as refused:
        not_theirs(refused)
        view = await client.account(session.account)
        return page("account", request, 400, view=view, error=refused.message, tab="account")
    return Redirect(f"/portal/account?done={done}", status_code=303)


ROUTES = [dashboard, invoices, invoice, invoice_pdf, payments, credits, history, order, account, new_method,
          method_added, save_method, default_method, delete_method, autopay]
