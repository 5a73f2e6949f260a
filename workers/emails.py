"""The email worker: invitations, receipts, ACH pending / cleared / returned, payments applied to an order,
and the "Approve Order Payment" cart link (seeds 000-004). Templates are Jinja2 files in ``workers/templates``
(``NAME.subject``, ``NAME.txt``, ``NAME.html``; the HTML part autoescaped), and every amount a person reads
goes through one filter, ``money``, which writes its currency ("25.00 CAD").

Links carry raw tokens that are never stored: the worker regenerates them from the event's ids and the
ledger's secret (``TokenIssuer``), exactly as the command handler did when it stored the token's hash.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import jinja2
import msgspec
import structlog

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.aggregates.state import AccountState
from ledger.money import format_amount
from ledger.personal.vault import ERASED
from ledger.ports.clock import local_words, zone_of
from ledger.ports.mailer import Email, Mailer
from ledger.ports.tokens import TokenIssuer
from replay.statement import Statement, account_history, statement_of

log = structlog.get_logger("ledger.workers")
if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

TEMPLATES = Path(__file__).parent / "templates"


def portal_link(portal_url: str, page: str, *parts: str) -> str:
    """``{portal_url}/{page}/{parts...}``, every part URL-encoded (an account id may hold ``/``, ``?``, ``#``)."""
    return "/".join((portal_url, page, *(quote(part, safe="") for part in parts)))


def portal_page(portal_url: str, path: str, **query: str) -> str:
    """``{portal_url}/portal/{path}?{query}``: a page of the web portal (``ledger.web``), values URL-encoded."""
    return f"{portal_url}/portal/{path}?{urlencode(query)}"


@jinja2.pass_context
def money(context: jinja2.runtime.Context, amount: int | str) -> str:
    """An amount as a person reads it, with the currency of the email's account: minor units (``2500``) or a
    decimal string already formatted (a statement's lines) -> ``"25.00 CAD"``."""
    currency = str(context["currency"])
    text = format_amount(amount, currency) if isinstance(amount, int) else amount
    return f"{text} {currency}"


#: Autoescape in the HTML part only: the subject and the text part are plain text, where ``&lt;`` would show.
ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                                 autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
                                 trim_blocks=True, lstrip_blocks=True)
ENVIRONMENT.filters["money"] = money


def render(template: str, currency: str, **values: object) -> tuple[str, str, str]:
    """(subject, text, html) of ``template`` filled with ``values``; ``currency`` is the account's."""
    parts = [ENVIRONMENT.get_template(f"{template}.{kind}").render(currency=currency, **values).strip()
             for kind in ("subject", "txt", "html")]
    return parts[0], parts[1], parts[2]


class Applied(msgspec.Struct, frozen=True):
    """Money of a payment (or a credit spent with it) applied to an invoice or an order."""

    kind: str
    target: str
    amount: int
    credit: str | None = None


class Allocation(msgspec.Struct, frozen=True):
    """Where a settled payment went, from the events its settlement recorded: what it paid (``applied``), the
    open credits spent with it (``credits``), and how much of it became credit on the account (``credited``:
    an overpayment or a deposit)."""

    applied: list[Applied]
    credits: list[Applied]
    credited: int


def allocation_of(settled: ev.PaymentSettled, following: list[Event]) -> Allocation:
    """The :class:`Allocation` of the payment ``settled`` settles, from the account's events after it that the
    same command recorded (they share its timestamp)."""
    payment, applied, credits, credited = settled.payment_id, list[Applied](), list[Applied](), 0
    for event in following:
        if event.timestamp != settled.timestamp:
            break
        if isinstance(event, ev.PaymentApplied) and event.payment_id == payment:
            applied.append(Applied(event.target_kind, event.target_id, event.amount))
        elif isinstance(event, ev.CreditApplied) and event.with_payment == payment:
            credits.append(Applied(event.target_kind, event.target_id, event.amount, event.credit_id))
        elif isinstance(event, ev.PaymentDeposited | ev.CreditIssued) and event.payment_id == payment:
            credited += event.amount
    return Allocation(applied, credits, credited)


class EmailWorker:
    """Turns events into customer emails."""

    name = "emails"
    wants = frozenset({"InvitationSent", "InvitationResent", "PaymentSubmitted", "PaymentSettled",
                       "PaymentReturned", "PaymentApplied", "ReauthorizationRequested", "StatementSent",
                       "AutopayFailed", "CartRequested"})

    def __init__(self, store: LedgerStore, mailer: Mailer, tokens: TokenIssuer, portal_url: str = "http://localhost:8080",
                 sender: str = "ledger@localhost") -> None:
        self.store = store
        self.mailer = mailer
        self.tokens = tokens
        self.portal_url = portal_url.rstrip("/")
        self.sender = sender
        #: Dates and times in emails are the business's (seed 002), as on every statement and tab.
        self.zone = zone_of(store.settings.timezone)
        #: Sending again after a crash mid-send is safe only where the mailer delivers a message id once.
        self.repeatable = mailer.idempotent

    def relevant(self, event: Event) -> bool:
        """Whether ``event`` may call for an email, decided from the event alone before the inbox claims it (a
        card payment's submission or an application to an invoice never does: a worker killed while holding
        one must not leave it "uncertain")."""
        if isinstance(event, ev.PaymentSubmitted):
            return event.method == "ach"
        if isinstance(event, ev.PaymentApplied):
            return event.target_kind == "order" and event.moved_from is None and event.reallocated_for is None
        return True

    async def handle(self, event: Event, event_id: str) -> None:
        """Send the email ``event`` calls for, if any."""
        state: AccountState = (await asyncio.to_thread(self.store.account, event.originator_id,
                                                       event.originator_version)).state
        period: Statement | Allocation | None = None
        if isinstance(event, ev.StatementSent):
            period = await asyncio.to_thread(self._period, event, state.account_id)
        elif isinstance(event, ev.PaymentSettled):
            period = await asyncio.to_thread(self._allocation, event)
        reveal = functools.partial(self.store.personal.reveal, event.originator_id)
        found = self.compose(event, state, period, reveal)
        if found is not None:
            sealed, (subject, text, html) = found
            to = await asyncio.to_thread(reveal, sealed)
            if to == ERASED:  # the account was forgotten: no one to write to, and no one's address to use
                log.info("email_not_sent_account_forgotten", event_id=event_id, event_type=type(event).__name__)
                return
            await self.mailer.send(Email(to=to, subject=subject, text=text, html=html, message_id=event_id,
                                         sender=self.sender, sent_at=event.timestamp))

    def link(self, page: str, account_id: str, *parts: str) -> str:
        """A link into the portal (:func:`portal_link`)."""
        return portal_link(self.portal_url, page, account_id, *parts)

    def _period(self, event: ev.StatementSent, account_id: str) -> Statement:
        """The statement of the event's period, from the account's history up to the event (off the loop)."""
        history = account_history(self.store, event.originator_id, event.originator_version)
        return statement_of(history, account_id, event.period_from, event.period_to, self.zone)

    def _allocation(self, event: ev.PaymentSettled, page: int = 500) -> Allocation:
        """Where the settled payment went (off the loop): the events its command recorded after it, read a page
        at a time so a receipt never reads an account's whole later history."""
        following: list[Event] = []
        after = event.originator_version
        while True:
            stored = list(self.store.events.get(event.originator_id, gt=after, limit=page))
            batch = [e for e in stored if isinstance(e, Event)]
            following.extend(batch)
            if len(stored) < page or not batch or batch[-1].timestamp != event.timestamp:
                return allocation_of(event, following)
            after = stored[-1].originator_version

    def compose(self, event: Event, state: AccountState, found: Statement | Allocation | None = None,
                reveal: Callable[[str], str] = str) -> tuple[str, tuple[str, str, str]] | None:
        """(recipient as the state holds it, sealed, rendered template) for ``event`` given the account as of that
        event (and, for a statement, the period's statement computed from the account's history up to it; for a
        settled payment, where it went); ``reveal`` opens the sealed name for the text
        (:mod:`ledger.personal.vault`)."""
        if not self.relevant(event):  # one rule for which events can call for an email (see relevant)
            return None
        currency = state.currency
        if isinstance(event, ev.InvitationSent | ev.InvitationResent) and state.invitation is not None:
            raw = self.tokens.issue("invitation", state.account_id, event.invitation_id, str(state.invitation.resent))
            template = "invitation" if isinstance(event, ev.InvitationSent) else "invitation_resent"
            link = portal_page(self.portal_url, f"invitation/{raw}", account=state.account_id)
            return state.invitation.email, render(template, currency, name=reveal(state.name) or state.account_id,
                                                  link=link, expires=local_words(event.expires_at, self.zone))
        if isinstance(event, ev.PaymentSubmitted | ev.PaymentSettled | ev.PaymentReturned):
            payment = state.payments[event.payment_id]
            if isinstance(event, ev.PaymentSubmitted):  # an ACH debit's (relevant)
                return state.email, render("ach_pending", currency, payment=payment)
            if isinstance(event, ev.PaymentSettled):
                went = found if isinstance(found, Allocation) else Allocation([], [], 0)
                return state.email, render("ach_settled" if payment.method == "ach" else "receipt", currency,
                                           payment=payment, went=went)
            return state.email, render("ach_returned", currency, payment=payment, code=event.return_code,
                                       was_applied=payment.settled_at is not None)
        if isinstance(event, ev.PaymentApplied):  # new money on an order (relevant: not moved, not reallocated)
            return state.email, render("applied_to_order", currency, payment=event.payment_id, amount=event.amount,
                                       order=event.target_id)
        if isinstance(event, ev.StatementSent) and isinstance(found, Statement):
            raw = self.tokens.issue("pay", state.account_id, event.event_id)
            return state.email, render("statement", currency, period=found, zero=format_amount(0, currency),
                                       balance=event.balance, count=event.open_invoices,
                                       invoices=state.open_invoices(),
                                       link=portal_page(self.portal_url, "pay", account=state.account_id,
                                                        statement=event.event_id, sig=raw))
        if isinstance(event, ev.ReauthorizationRequested | ev.CartRequested):  # a new hold, or an order's first
            raw = self.tokens.issue("cart", state.account_id, event.cart_id)
            amount = event.new_amount if isinstance(event, ev.ReauthorizationRequested) else event.amount
            hold = {"hold": event.authorization_id} if isinstance(event, ev.ReauthorizationRequested) else {}
            link = portal_page(self.portal_url, f"cart/{raw}", account=state.account_id, cart=event.cart_id,
                               order=event.order_id, **hold)
            return state.email, render("cart", currency, order=event.order_id, amount=amount, link=link)
        if isinstance(event, ev.AutopayFailed) and event.method_id in state.methods:
            card = state.methods[event.method_id]
            invoice = state.invoices[event.invoice_id]
            return state.email, render("autopay_failed", currency, invoice=invoice.id, amount=invoice.total,
                                       card=f"{card.brand} ending {card.last4}", due=invoice.due_on.isoformat())
        return None
