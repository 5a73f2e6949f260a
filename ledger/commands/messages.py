"""Command messages: what portals, CSRs, the CLI and the NATS service ask the ledger to do.

Amounts are decimal strings ("120.50"); the edge validates them into minor units. Every money command has an
idempotency ``key`` (defaulting to one derived from its business id): the same key twice has the effect of
once and answers the first result; the same key with a different body is refused.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ledger.aggregates.events.payments import Purpose


class ActorIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who sends the command; the edge (CLI, NATS) fills it in."""

    kind: str = "system"
    name: str = "system"
    channel: str = "api"
    #: The NATS user that carried a portal's or staff tool's request: the binder sets it from the subject
    #: (:mod:`ledger.identity.binding`), whatever the body says.
    via: str = ""


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every command: a typed message the edge decodes and the dispatcher hands to its one handler
    (:data:`ledger.commands.handlers.HANDLERS`). Most address one account (:class:`AccountCommand`); a guest
    payment awaiting research has none yet."""


class AccountCommand(Command, frozen=True, kw_only=True):
    """Base of the commands on one account, addressed by its business id."""

    account: str
    actor: ActorIn | None = None


class OpenAccount(AccountCommand, frozen=True, kw_only=True):
    email: str
    currency: str = "USD"
    name: str = ""


class SendInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class ResendInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class AcceptInvitation(AccountCommand, frozen=True, kw_only=True):
    token: str


class RenewInvitation(AccountCommand, frozen=True, kw_only=True):
    """The customer asks for a new invitation with the link that expired."""

    token: str


class RecordPasswordChange(AccountCommand, frozen=True, kw_only=True):
    """The portal reports a new password (``changed`` or ``reset``); never the password or its hash."""

    how: Literal["changed", "reset"]


class RecordPasswordResetRequest(AccountCommand, frozen=True, kw_only=True):
    """The portal reports that a reset link was sent to the customer's login."""


class ExpireInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class SendStatement(AccountCommand, frozen=True, kw_only=True):
    """Email the statement of a period with a pay link."""

    period_from: str
    period_to: str


class OrderItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A line of an order: ``unit_price`` is a decimal string like every amount."""

    sku: str
    description: str = ""
    quantity: int
    unit_price: str


class PlaceOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    amount: str
    channel: str = "web"
    description: str = ""
    items: list[OrderItemIn] = []


class ChangeOrderPrice(AccountCommand, frozen=True, kw_only=True):
    order: str
    amount: str


class RequestCart(AccountCommand, frozen=True, kw_only=True):
    """Send the "Approve Order Payment" cart link for an order with no hold yet (seed 004)."""

    order: str


class CancelOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    reason: str = ""


class ReplaceOrder(AccountCommand, frozen=True, kw_only=True):
    order: str
    new_order: str
    amount: str


class IssueInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    amount: str
    date: str
    due: str
    order: str | None = None


class AdjustInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    amount: str
    reason: str = ""


class VoidInvoice(AccountCommand, frozen=True, kw_only=True):
    invoice: str
    reason: str = ""


class SubmitPayment(AccountCommand, frozen=True, kw_only=True):
    """Pay by card, PayPal or ACH with a ``token``, or with a ``saved`` method (seed 002: "use a saved payment";
    its kind is the ``method``): explicit amounts per invoice/order, ``distribute`` oldest first, or ``deposit``
    on the account, held for its ``purpose`` when it has one (seed 000). ``exact`` demands the exact amount due
    (seed 003)."""

    payment: str
    amount: str
    method: Literal["card", "paypal", "ach"] | None = None
    token: str | None = None
    saved: str | None = None
    invoices: dict[str, str] = {}
    orders: dict[str, str] = {}
    distribute: bool = False
    deposit: bool = False
    purpose: Purpose | None = None
    exact: bool = False
    key: str | None = None


class SettlePayment(AccountCommand, frozen=True, kw_only=True):
    payment: str


class ReturnPayment(AccountCommand, frozen=True, kw_only=True):
    payment: str
    code: str = "R01"


class RefundPayment(AccountCommand, frozen=True, kw_only=True):
    payment: str
    amount: str
    key: str | None = None


class IssueCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    reference: str = ""


class ApplyCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    invoice: str | None = None
    order: str | None = None


class RefundCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    key: str | None = None


class AuthorizeCard(AccountCommand, frozen=True, kw_only=True):
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


class Reauthorize(AccountCommand, frozen=True, kw_only=True):
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


class AddPaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str
    kind: Literal["card", "ach", "paypal"]
    token: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


class RemovePaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str


class SetDefaultPaymentMethod(AccountCommand, frozen=True, kw_only=True):
    method: str


class EnableAutopay(AccountCommand, frozen=True, kw_only=True):
    method: str | None = None


class DisableAutopay(AccountCommand, frozen=True, kw_only=True):
    reason: str = ""


class RecordAutopayFailure(AccountCommand, frozen=True, kw_only=True):
    """The autopay worker's: the saved card has expired, so the invoice was not charged (seed 002)."""

    invoice: str
    method: str


class ReceiveUnidentifiedPayment(Command, frozen=True, kw_only=True):
    """A guest portal payment (seed 000) whose order or customer number matched nothing."""

    payment: str
    amount: str
    currency: str
    method: Literal["card", "paypal", "ach"]
    token: str
    reference: str
    key: str | None = None
    actor: ActorIn | None = None


class ReferToAccounting(Command, frozen=True, kw_only=True):
    payment: str
    note: str = ""
    actor: ActorIn | None = None


class MatchPayment(Command, frozen=True, kw_only=True):
    """Research found the account: apply the payment to the open order, or deposit it on the account (held for
    its ``purpose`` when it has one, seed 000 step 6b)."""

    payment: str
    account: str
    order: str | None = None
    purpose: Purpose | None = None
    actor: ActorIn | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did: the events it recorded, or ``replayed`` when an idempotent repeat did nothing."""

    account: str | None
    reference: str
    events: tuple[str, ...] = ()
    status: str | None = None
    transaction_id: str | None = None
    replayed: bool = False
    detail: str = ""
