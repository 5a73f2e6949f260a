"""DESIGN invariant 5 after later payments: a returned ACH payment leaves balances as if it had never been made.

Unwinding the returned payment alone is enough when nothing was paid after it settled. When later payments
were applied in between, their allocations were decided on a state that held the returned money: without it
they would have gone to older invoices, and spent credits it had spent. :func:`counterfactual` replays the
account's history without the returned payment, deciding every later settlement again on that state;
:func:`differences` lists what to unapply, reverse, issue and apply to turn the account into it.

Only histories whose later events replay without the payment are re-decided (payments, invoices, memo credits,
orders, holds, the portal, earlier ACH returns, which are left out with their payments); a refund, a manual
application, money moved with an order or a void after the payment's settlement make :func:`counterfactual`
answer None, and the return then unwinds the payment alone (as it does when only the history without the
payment would open a credit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from ledger.aggregates import events as ev
from ledger.aggregates.state import AccountState, Credit

#: Events after the payment's settlement that depend on where money was applied: replaying them on a state
#: without the payment could mean something else, so their presence keeps the plain unwind.
_UNSAFE = (ev.PaymentUnapplied, ev.CreditUnapplied, ev.CreditReversed, ev.CreditRefunded, ev.PaymentRefunded,
           ev.PaymentReturned, ev.OrderReplaced, ev.OrderCancelled, ev.InvoiceVoided, ev.PaymentApplied,
           ev.CreditApplied, ev.CreditIssued, ev.PaymentDeposited)

#: What an ACH return did about later payments: ``reallocated``, ``unchanged``, why the plain unwind stands
#: (``not_replayable``, ``credit_would_be_opened``, ``history_not_current``), or "" when it was not asked (no
#: history given, or the payment had not settled).
Outcome = Literal["", "reallocated", "unchanged", "not_replayable", "credit_would_be_opened", "history_not_current"]

#: The account's events as the store reads them.
History = Sequence[DomainEventProtocol[UUID]]

Key = tuple[str, str, str, str, str | None]  # source kind, source id, target kind, target id, with payment


class Replaying(Protocol):
    """The account the history is replayed on (a fresh Account): applies recorded events, decides settlements."""

    @property
    def state(self) -> AccountState:
        """The state replayed so far."""

    def mutate(self, event: ev.Event) -> None:
        """Apply one recorded event."""

    def apply_settled(self, ctx: ev.Context, payment_id: str) -> object:
        """Decide again where the settled payment goes."""


class Differences(NamedTuple):
    """What turns the account into the counterfactual one, in the order to do it (``issue``: credits the
    counterfactual holds more of, which :meth:`return_payment` does not open: issued now, they would be spent
    after older ones)."""

    unapply: list[tuple[Key, int]]
    reverse: list[tuple[str, int]]  # credit id, amount
    issue: list[Credit]  # of the counterfactual state
    apply: list[tuple[Key, int]]


def _of_settlement(event: ev.Event, payment_id: str) -> bool:
    """Was ``event`` recorded by the settlement of ``payment_id`` (applying it, spending credits with it, turning
    its excess into credit)?"""
    if isinstance(event, ev.PaymentApplied | ev.PaymentDeposited):
        return event.payment_id == payment_id and getattr(event, "moved_from", None) is None
    if isinstance(event, ev.CreditApplied):
        return event.with_payment == payment_id and event.moved_from is None
    if isinstance(event, ev.CreditIssued):
        return event.payment_id == payment_id and event.kind == "overpayment"
    return False


def _memo_credit(event: ev.Event) -> bool:
    """A credit a CSR or finance issued (not funded by a payment): the same with or without the payment."""
    return isinstance(event, ev.CreditIssued) and event.payment_id is None


def _returns_of(history: History, gone: set[str]) -> set[int]:
    """Positions in ``history`` of the events recorded by the returns of payments in ``gone``: each return's
    ``PaymentReturned`` and, just before it (one command writes them in a row), the unwinding of what the
    payment paid and the re-allocation of later payments."""
    positions: set[int] = set()
    for index, event in enumerate(history):
        if isinstance(event, ev.PaymentReturned) and event.payment_id in gone:
            positions.add(index)
            before = index - 1
            while before >= 0 and _of_a_return(history[before]):
                positions.add(before)
                before -= 1
    return positions


def _of_a_return(event: object) -> bool:
    """Can ``event`` have been recorded by an ACH return (unwinding what it paid, re-allocating)?"""
    if isinstance(event, ev.PaymentUnapplied | ev.CreditUnapplied | ev.CreditReversed):
        return event.reason.startswith(("ACH return", "reallocated:"))
    if isinstance(event, ev.PaymentApplied | ev.CreditApplied):
        return event.reallocated_for is not None
    return False


def counterfactual(history: History, returned: str,
                   fresh: Callable[[ev.AccountOpened], Replaying]) -> AccountState | None:
    """The state of the account had payment ``returned`` never been made, or None when it cannot be told.

    ``history`` is the account's events before the return; ``fresh(opened_event)`` makes an account from its
    AccountOpened event (an Account whose decisions re-decide each later settlement). ACH payments returned
    after it settled were never made either: their events and those of their returns are left out too (returns
    before that are part of the history it was made in, and replay as recorded).
    """
    settled = next((i for i, e in enumerate(history)
                    if isinstance(e, ev.PaymentSettled) and e.payment_id == returned), len(history))
    gone = {returned} | {e.payment_id for e in history[settled:] if isinstance(e, ev.PaymentReturned)}
    of_returns = _returns_of(history, gone)
    account: Replaying | None = None
    after = False  # past the first settlement of a payment that is gone
    deriving: str | None = None  # the payment whose settlement's recorded events are being replaced
    for index, event in enumerate(history):
        if index in of_returns:
            continue
        if not isinstance(event, ev.Event):
            return None
        if account is None:
            if not isinstance(event, ev.AccountOpened):
                return None
            account = fresh(event)
            continue
        if deriving is not None and _of_settlement(event, deriving):
            continue
        deriving = None
        if isinstance(event, ev.PaymentSubmitted | ev.PaymentSettled) and event.payment_id in gone:
            after = after or isinstance(event, ev.PaymentSettled)
            deriving = event.payment_id if isinstance(event, ev.PaymentSettled) else None
            continue
        if after and isinstance(event, ev.PaymentSettled):
            account.mutate(event)
            account.apply_settled(ev.Context(at=event.timestamp, by=event.by), event.payment_id)
            deriving = event.payment_id
            continue
        if after and isinstance(event, _UNSAFE) and not _memo_credit(event):
            return None
        try:
            account.mutate(event)
        except (KeyError, AttributeError, ValueError):
            return None
    if account is None or not after:
        return None
    state = account.state
    if any(i.paid > i.total for i in state.invoices.values()) or any(c.remaining < 0 for c in state.credits.values()):
        return None
    return state


def _applied(state: AccountState) -> dict[Key, int]:
    out: dict[Key, int] = {}
    for app in state.applications:
        key = (app.source_kind, app.source_id, app.target_kind, app.target_id, app.with_payment)
        out[key] = out.get(key, 0) + app.amount
    return out


def differences(actual: AccountState, wanted: AccountState) -> Differences:
    """From ``actual`` to ``wanted``: applications to undo, credits to shrink or open, applications to make."""
    have, want = _applied(actual), _applied(wanted)
    unapply = [(key, amount - want.get(key, 0)) for key, amount in have.items() if amount > want.get(key, 0)]
    apply = [(key, amount - have.get(key, 0)) for key, amount in want.items() if amount > have.get(key, 0)]
    wanted_amount = {c.id: c.amount for c in wanted.credits.values()}
    actual_amount = {c.id: c.amount for c in actual.credits.values()}
    reverse = [(i, amount - wanted_amount.get(i, 0)) for i, amount in actual_amount.items()
               if amount > wanted_amount.get(i, 0)]
    issue = [c for c in wanted.credits.values() if c.amount > actual_amount.get(c.id, 0)]
    order = {("invoice", i.id): i.sequence for i in wanted.invoices.values()}
    apply.sort(key=lambda item: (order.get((item[0][2], item[0][3]), 0), item[0][0] != "payment"))
    return Differences(unapply, reverse, issue, apply)
