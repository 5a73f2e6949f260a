"""Views of one account straight from its aggregate state: what ``ledger account show`` prints.

Amounts are decimal strings in the account's currency ("110.00"); ``balance`` is what the customer owes on
open invoices, ``orders_due`` on open orders (seed 001: "invoices and orders with unpaid balances"),
``credit_balance`` the open credit they hold.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ledger.aggregates.carts import cart_amount, cart_status
from ledger.aggregates.state import AccountState, Authorization, Cart, Invitation
from ledger.money import format_amount
from ledger.ports.clock import DEFAULT_ZONE, local_text
from ledger.ports.ids import account_uuid


class InvoiceView(msgspec.Struct, frozen=True):
    id: str
    date: str
    due: str
    total: str
    paid: str
    open: str
    status: str


class PaymentView(msgspec.Struct, frozen=True):
    id: str
    date: str
    amount: str
    method: str
    status: str
    transaction_id: str
    refunded: str


def payment_status(status: str, amount: int, refunded: int) -> str:
    """What a payment's status column says: a settled payment refunded in full is ``refunded``, in part
    ``partially_refunded`` (the refunded amount is beside it); any other status as recorded."""
    if status == "settled" and refunded > 0:
        return "refunded" if refunded >= amount else "partially_refunded"
    return status


class CreditView(msgspec.Struct, frozen=True):
    id: str
    date: str
    amount: str
    remaining: str
    kind: str
    reference: str


class OrderView(msgspec.Struct, frozen=True):
    id: str
    amount: str
    paid: str
    status: str
    channel: str
    replaced_by: str | None
    replaces: str | None
    manual_processing: bool


class AuthorizationView(msgspec.Struct, frozen=True):
    """A hold (seed 004); ``method``: what it holds, ``card`` or ``paypal`` (issue 14), None for a hold recorded
    before holds kept it (a card or a PayPal account: the gateway says which at its capture)."""

    id: str
    order: str
    amount: str
    status: str
    expires_at: str
    method: str | None = None


class CartView(msgspec.Struct, frozen=True):
    """A cart link sent (seed 004), never its token's hash: its order, the hold it reauthorizes (none for an
    order's first hold), its status (open, used, replaced, closed) and ``amount``: what the ledger holds when an
    open cart is checked out now (issue 14: a stale cart never charges a paid or repriced order), else what it
    asked for."""

    id: str
    order: str
    authorization: str | None
    amount: str
    status: str


class MethodView(msgspec.Struct, frozen=True):
    """A saved payment method as a CSR may see it: never its gateway token."""

    id: str
    kind: str
    brand: str
    last4: str
    expires: str
    default: bool
    autopay: bool


class AccountView(msgspec.Struct, frozen=True):
    account: str
    currency: str
    email: str
    name: str
    balance: str
    orders_due: str
    credit_balance: str
    invoices: list[InvoiceView]
    payments: list[PaymentView]
    credits: list[CreditView]
    orders: list[OrderView]
    authorizations: list[AuthorizationView]
    methods: list[MethodView]
    autopay: bool
    portal: str
    carts: list[CartView] = []


def account_view(state: AccountState, zone: ZoneInfo | None = None, now: datetime | None = None,
                 reveal: Callable[[str], str] = str) -> AccountView:
    """The portal/CSR view of one account; instants are shown in the business time zone (seed 002); ``reveal``
    opens the sealed email and name (:mod:`ledger.personal.vault`).

    At ``now``, a hold past its 29 days and an invitation past its 72 hours show as ``expired`` although the
    scheduler has not recorded their expiry yet (issue 14): a read says what is true now."""
    cur = state.currency
    tz = zone or ZoneInfo(DEFAULT_ZONE)

    def when(instant: datetime) -> str:
        return local_text(instant, tz)

    def fmt(minor: int) -> str:
        return format_amount(minor, cur)

    invoices = sorted(state.invoices.values(), key=lambda i: (i.issued_on, i.sequence))
    return AccountView(
        account=state.account_id,
        currency=cur,
        email=reveal(state.email),
        name=reveal(state.name),
        balance=fmt(state.balance),
        orders_due=fmt(state.orders_due),
        credit_balance=fmt(state.credit_balance),
        invoices=[InvoiceView(i.id, i.issued_on.isoformat(), i.due_on.isoformat(), fmt(i.total),
                              fmt(i.paid if not i.voided else 0), fmt(i.open), i.status) for i in invoices],
        payments=[PaymentView(p.id, when(p.submitted_at), fmt(p.amount), p.method,
                              payment_status(p.status, p.amount, p.refunded), p.transaction_id, fmt(p.refunded))
                  for p in state.payments.values()],
        credits=[CreditView(c.id, when(c.issued_at), fmt(c.amount), fmt(c.remaining), c.kind, c.reference)
                 for c in sorted(state.credits.values(), key=lambda c: c.sequence)],
        orders=[OrderView(o.id, fmt(o.amount), fmt(o.paid), o.status, o.channel, o.replaced_by, o.replaces,
                          o.manual_processing) for o in state.orders.values()],
        authorizations=[AuthorizationView(a.id, a.order_id, fmt(a.amount), hold_status(a, now), when(a.expires_at),
                                          a.method) for a in state.authorizations.values()],
        methods=[MethodView(m.id, m.kind, m.brand, m.last4,
                            f"{m.exp_month:02d}/{m.exp_year}" if m.exp_month and m.exp_year else "",
                            m.id == state.default_method, m.id == state.autopay_method)
                 for m in state.methods.values()],
        autopay=state.autopay_method is not None,
        portal=portal_status(state.invitation, now),
        carts=[cart_view(state, c, fmt) for c in state.carts.values()],
    )


def cart_view(state: AccountState, cart: Cart, fmt: Callable[[int], str]) -> CartView:
    """A cart as :class:`CartView` shows it, ``fmt`` writing its amount."""
    status = cart_status(state, cart)
    amount = cart_amount(state, cart) if status == "open" else cart.amount
    return CartView(cart.id, cart.order_id, cart.authorization_id, fmt(amount), status)


def hold_status(auth: Authorization, now: datetime | None) -> str:
    """A hold's status; an active one past its expiry is ``expired`` (a cart sent again keeps its status)."""
    return "expired" if auth.status == "active" and now is not None and now >= auth.expires_at else auth.status


def portal_status(invitation: Invitation | None, now: datetime | None) -> str:
    """The portal access: not_invited, pending (an invitation within its 72 hours), accepted or expired."""
    if invitation is None:
        return "not_invited"
    if invitation.status == "pending" and now is not None and now >= invitation.expires_at:
        return "expired"
    return invitation.status


class Sealed(Protocol):
    """What opens an account's sealed email and name (:class:`ledger.personal.vault.Vault`)."""

    def reveal(self, account: UUID | str, value: str) -> str:
        """``value`` opened with ``account``'s key (``[erased]`` once the key is destroyed)."""
        ...


class Stateful(Protocol):
    """An account aggregate, as far as a view reads it: its state."""

    @property
    def state(self) -> AccountState:
        """The account's state, as its events made it."""
        ...


class AccountStore(Protocol):
    """What :func:`stored_account_view` reads of a store (:class:`ledger.store.application.LedgerStore`): an
    account by its aggregate id, and the vault of its personal data."""

    @property
    def personal(self) -> Sealed:
        """The vault that seals personal data."""
        ...

    def account(self, aggregate_id: UUID) -> Stateful:
        """The account aggregate ``aggregate_id``, as of its last event."""
        ...


def stored_account_view(store: AccountStore, account_id: str, zone: ZoneInfo | None = None,
                        now: datetime | None = None) -> AccountView:
    """:func:`account_view` of ``account_id`` as the store holds it, its sealed email and name revealed (or
    ``[erased]`` once the account was forgotten)."""
    aggregate_id = account_uuid(account_id)
    reveal = functools.partial(store.personal.reveal, aggregate_id)
    return account_view(store.account(aggregate_id).state, zone, now, reveal)
