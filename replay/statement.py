"""An account statement for a period: opening balance, every movement, closing balance (from the log)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.double_entry import Journal
from ledger.errors import NotFound
from ledger.money import format_amount
from ledger.ports.clock import business_date
from ledger.ports.ids import account_uuid
from ledger.projections.describe import title
from replay.history import events

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore


class StatementLine(msgspec.Struct, frozen=True):
    """One movement of the balance owed: ``charge`` raises it (an invoice, an upward adjustment, an ACH return),
    ``credit`` lowers it (a payment or credit applied, a void, a downward adjustment)."""

    date: str
    event: str
    reference: str
    charge: str
    credit: str
    balance: str


class Statement(msgspec.Struct, frozen=True):
    """What the customer owed at the start of the period, each movement of it, what they owed at the end; and
    the credit they held on the account (overpayments, deposits, memos, not yet spent) at both ends."""

    account: str
    currency: str
    period_from: str
    period_to: str
    opening_balance: str
    lines: list[StatementLine]
    closing_balance: str
    opening_credit: str
    closing_credit: str


def _reference(event: Event) -> str:
    """What a line is about: the invoice, or the payment or credit and what it was applied to ("P1 -> I1")."""
    target = getattr(event, "target_id", None)
    source = getattr(event, "payment_id", None) or getattr(event, "credit_id", None)
    if target and source:
        return f"{source} -> {target}"
    for field in ("invoice_id", "payment_id", "credit_id", "order_id"):
        value = getattr(event, field, None)
        if value:
            return str(value)
    return ""


def _label(event: Event) -> str:
    """What a line is: the event in words, and why an application was undone ("Payment Unapplied (ACH return
    R01)"), so a return does not read as a bare unapplied payment."""
    if isinstance(event, ev.PaymentUnapplied | ev.CreditUnapplied) and event.reason:
        return f"{title(event)} ({event.reason})"
    return title(event)


def account_history(source: LedgerStore, key: UUID, upto: int | None = None) -> Iterable[Event]:
    """One account's events in order (up to version ``upto``): read by aggregate from a store, so a statement
    costs the account's history and not the whole log; filtered from the log for other sources (tests)."""
    store_events = getattr(source, "events", None)
    if store_events is not None and hasattr(store_events, "get"):
        history: Iterable[Event] = store_events.get(key, lte=upto)
        return history
    return (event for _, event in events(source)
            if event.originator_id == key and (upto is None or event.originator_version <= upto))


def statement(store: LedgerStore, account_id: str, start: date, end: date, zone: ZoneInfo) -> Statement:
    """Movements of what the customer owes (receivables) between two business dates, inclusive."""
    return statement_of(account_history(store, account_uuid(account_id)), account_id, start, end, zone)


def statement_of(history: Iterable[Event], account_id: str, start: date, end: date, zone: ZoneInfo) -> Statement:
    """The statement of the account whose events are ``history``.

    The closing balance is the opening balance plus the movements, whatever order the history holds them in
    (an account's events are in time order since the ledger refuses a command dated before the newest one; a
    store from before that rule may not be, and ``audit verify`` names such events).
    """
    journal = Journal()
    currency = ""
    opening = opening_credit = closing_credit = 0
    moves: list[tuple[date, Event, int]] = []
    for event in history:
        entry = journal.post(event)
        if isinstance(event, ev.AccountOpened):
            currency = event.currency
        day = business_date(event.timestamp, zone)
        delta = sum(p.debit - p.credit for p in entry.postings if p.account == "receivables")
        held = sum(p.credit - p.debit for p in entry.postings if p.account == "customer_credits")
        if day < start:
            opening += delta
            opening_credit += held
        elif day <= end and delta:
            moves.append((day, event, delta))
        if day <= end:
            closing_credit += held
    if not currency:
        raise NotFound(f"no account {account_id}", field="account")
    running = opening
    lines: list[StatementLine] = []
    for day, event, delta in moves:
        running += delta
        lines.append(StatementLine(day.isoformat(), _label(event), _reference(event),
                                   format_amount(max(delta, 0), currency), format_amount(max(-delta, 0), currency),
                                   format_amount(running, currency)))
    return Statement(account_id, currency, start.isoformat(), end.isoformat(), format_amount(opening, currency),
                     lines, format_amount(running, currency), format_amount(opening_credit, currency),
                     format_amount(closing_credit, currency))
