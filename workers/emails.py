"""The email worker: invitations, receipts, ACH pending / cleared / returned, payments applied to an order,
and the "Approve Order Payment" cart link (seeds 000-004). Templates are files in ``workers/templates``.

Links carry raw tokens that are never stored: the worker regenerates them from the event's ids and the
ledger's secret (``TokenIssuer``), exactly as the command handler did when it stored the token's hash.
"""

from __future__ import annotations

import asyncio
import functools
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import structlog

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.aggregates.state import AccountState
from ledger.money import format_amount
from ledger.personal.vault import ERASED
from ledger.ports.clock import zone_of
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


def render(template: str, **values: object) -> tuple[str, str, str]:
    """(subject, text, html) of ``template`` filled with ``values`` (HTML-escaped in the HTML part)."""
    parts = [(TEMPLATES / f"{template}.{kind}").read_text().strip() for kind in ("subject", "txt", "html")]
    escaped = {name: html.escape(str(value)) for name, value in values.items()}
    return parts[0].format(**values), parts[1].format(**values), parts[2].format(**escaped)


class EmailWorker:
    """Turns events into customer emails."""

    name = "emails"
    wants = frozenset({"InvitationSent", "InvitationResent", "PaymentSubmitted", "PaymentSettled",
                       "PaymentReturned", "PaymentApplied", "ReauthorizationRequested", "StatementSent"})

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
        period = None
        if isinstance(event, ev.StatementSent):
            period = await asyncio.to_thread(self._period, event, state.account_id)
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

    def compose(self, event: Event, state: AccountState, period: Statement | None = None,
                reveal: Callable[[str], str] = str) -> tuple[str, tuple[str, str, str]] | None:
        """(recipient as the state holds it, sealed, rendered template) for ``event`` given the account as of that
        event (and, for a statement, the period's statement computed from the account's history up to it);
        ``reveal`` opens the sealed name for the text (:mod:`ledger.personal.vault`)."""

        def money(minor: int) -> str:
            return format_amount(minor, state.currency)

        if not self.relevant(event):  # one rule for which events can call for an email (see relevant)
            return None
        if isinstance(event, ev.InvitationSent | ev.InvitationResent) and state.invitation is not None:
            raw = self.tokens.issue("invitation", state.account_id, event.invitation_id, str(state.invitation.resent))
            template = "invitation" if isinstance(event, ev.InvitationSent) else "invitation_resent"
            link = self.link("invite", state.account_id, raw)
            return state.invitation.email, render(template, name=reveal(state.name) or state.account_id, link=link,
                                                  expires=event.expires_at.astimezone(self.zone)
                                                  .strftime("%Y-%m-%d %H:%M %Z"))
        if isinstance(event, ev.PaymentSubmitted | ev.PaymentSettled | ev.PaymentReturned):
            payment = state.payments[event.payment_id]
            values = {"payment": payment.id, "amount": money(payment.amount), "method": payment.method,
                      "transaction_id": payment.transaction_id}
            if isinstance(event, ev.PaymentSubmitted):  # an ACH debit's (relevant)
                return state.email, render("ach_pending", **values)
            if isinstance(event, ev.PaymentSettled):
                return state.email, render("ach_settled" if payment.method == "ach" else "receipt", **values)
            undone = ("The invoices it paid are open again." if payment.settled_at is not None
                      else "It had not been applied to anything yet.")
            return state.email, render("ach_returned", code=event.return_code, undone=undone, **values)
        if isinstance(event, ev.PaymentApplied):  # new money on an order (relevant: not moved, not reallocated)
            return state.email, render("applied_to_order", payment=event.payment_id, amount=money(event.amount),
                                       order=event.target_id)
        if isinstance(event, ev.StatementSent) and period is not None:
            raw = self.tokens.issue("pay", state.account_id, event.event_id)
            lines = "\n".join(f"  {i.id}  {i.issued_on}  due {i.due_on}  open {money(i.open)}"
                              for i in state.open_invoices())
            return state.email, render("statement", period_from=event.period_from, period_to=event.period_to,
                                       opening=period.opening_balance, closing=period.closing_balance,
                                       credit=period.closing_credit,
                                       movements=movements(period, money(0)), balance=money(event.balance),
                                       count=event.open_invoices, invoices=lines or "  (none)",
                                       link=self.link("pay", state.account_id, raw))
        if isinstance(event, ev.ReauthorizationRequested):
            raw = self.tokens.issue("cart", state.account_id, event.cart_id)
            return state.email, render("cart", order=event.order_id, amount=money(event.new_amount),
                                       link=self.link("cart", state.account_id, event.cart_id, raw))
        return None


def movements(period: Statement, zero: str) -> str:
    """A statement's lines for an email: date, what, reference, the change and the balance after it."""
    shown = [f"  {line.date}  {line.event} {line.reference}  "
             f"{'+' + line.charge if line.charge != zero else '-' + line.credit}  balance {line.balance}"
             for line in period.lines]
    return "\n".join(shown) or "  (no movements)"
