"""The state of one customer Account, rebuilt from its events (and snapshotted as one msgspec Struct).

Every Struct here is ``gc=False`` (the state holds no reference cycles: nothing points back to its owner) and
``array_like`` (a snapshot stores values without field names): a customer with 100k events has ~100k entities,
and a cold load would otherwise spend most of its time in the cyclic collector and in field names (read lazily:
``ledger.aggregates.state_codec``).
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from ledger.aggregates.events.authorizations import HoldMethod
from ledger.aggregates.events.payments import Instruction, Line, TargetKind
from ledger.money import format_amount


class Invoice(msgspec.Struct, gc=False, array_like=True):
    id: str
    total: int
    issued_on: date
    due_on: date
    sequence: int
    order_id: str | None = None
    paid: int = 0
    voided: bool = False
    #: Why autopay could not pay it (card_expired), once recorded.
    autopay_failed: str | None = None

    @property
    def open(self) -> int:
        """What is still owed on the invoice."""
        return 0 if self.voided else self.total - self.paid

    @property
    def status(self) -> str:
        """open / partially_paid / paid / void, as the portals show it."""
        if self.voided:
            return "void"
        if self.paid >= self.total:
            return "paid"
        return "partially_paid" if self.paid else "open"


class Order(msgspec.Struct, gc=False, array_like=True):
    id: str
    amount: int
    placed_at: datetime
    channel: str
    description: str = ""
    paid: int = 0
    status: str = "open"  # open, invoiced, cancelled, replaced
    replaced_by: str | None = None
    replaces: str | None = None
    manual_processing: bool = False

    @property
    def open(self) -> int:
        """Balance due on the order (seed 000: guests pay the balance due on an open order)."""
        return max(self.amount - self.paid, 0) if self.status == "open" else 0


class Payment(msgspec.Struct, gc=False, array_like=True):
    id: str
    amount: int
    method: str
    token: str
    transaction_id: str
    submitted_at: datetime
    idempotency_key: str
    request_hash: str
    instruction: Instruction
    status: str = "pending"  # pending, settled, declined, returned
    source: str | None = None
    decline_code: str | None = None
    applied: int = 0
    credited: int = 0
    refunded: int = 0
    settled_at: datetime | None = None
    #: What a distribution left pending will pay, decided when it was submitted (PaymentSubmitted 3); None for a
    #: payment recorded before (PaymentSubmitted 2): see :meth:`AccountState.pending_lines`.
    planned: tuple[Line, ...] | None = ()


class Credit(msgspec.Struct, gc=False, array_like=True):
    id: str
    amount: int
    remaining: int
    kind: str
    reference: str
    issued_at: datetime
    sequence: int
    payment_id: str | None = None
    #: A deposit held for a purpose (parts, labour, ...): never spent automatically, applied by a CSR.
    purpose: str | None = None


class Application(msgspec.Struct, gc=False, array_like=True):
    """One live application of money: from a payment or a credit, to an invoice or an order."""

    source_kind: str  # payment, credit
    source_id: str
    target_kind: TargetKind
    target_id: str
    amount: int
    with_payment: str | None = None


#: Holds still live at the gateway (usable, waiting on the customer's checkout, or on a CSR after a failed
#: reauthorization): they follow their order when it is replaced (seed 004), and are released with it.
LIVE_HOLDS = ("active", "reauth_requested", "failed")


class Authorization(msgspec.Struct, gc=False, array_like=True):
    id: str
    order_id: str
    amount: int
    token: str
    transaction_id: str
    authorized_at: datetime
    expires_at: datetime
    status: str = "active"  # active, expired, reauth_requested, reauthorized, failed, captured, voided
    replaced_by: str | None = None
    requested_amount: int | None = None
    cart_id: str | None = None
    #: The order's price when the hold was placed: a reauthorization after a price rise replaces the order.
    order_price: int | None = None
    #: The order (id, price, and what was paid, pending or held by its other holds on it) when the cart link was
    #: last sent: a checkout after any of them changed is priced at what is still due (issue 14: a stale cart never
    #: charges a paid or repriced order, nor what a pending ACH or another hold will pay).
    cart_order: str | None = None
    cart_price: int | None = None
    cart_covered: int | None = None
    #: Its expiry was recorded (it stays so when its cart link is sent again): recorded once (issue 14).
    expired: bool = False
    #: What it holds, card or PayPal (seed 004): its capture is a payment by that method (issue 14); None for a
    #: hold recorded before holds kept it (a card or a PayPal account: the gateway says which of its token).
    method: HoldMethod | None = None


class Cart(msgspec.Struct, gc=False, array_like=True):
    """An "Approve Order Payment" cart link (seed 004): for a hold to reauthorize (``authorization_id``) or an
    order's first hold (none); only its token's hash is kept. ``status``: open, used (checked out, by the hold
    ``used_for``), replaced (a newer cart for the same hold or order was sent), closed (its order was cancelled or
    replaced, or its hold placed another way)."""

    id: str
    order_id: str
    amount: int
    token_hash: str
    sent_at: datetime
    authorization_id: str | None = None
    status: str = "open"
    used_for: str | None = None
    #: The hold id of this cart's last declined checkout (an order's first cart): a repeat is that decline.
    declined_for: str | None = None


class Invitation(msgspec.Struct, gc=False, array_like=True):
    id: str
    email: str
    token_hash: str
    sent_at: datetime
    expires_at: datetime
    status: str = "pending"  # pending, accepted, expired
    resent: int = 0


class SavedMethod(msgspec.Struct, gc=False, array_like=True):
    id: str
    kind: str
    token: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


class IdempotencyRecord(msgspec.Struct, gc=False, array_like=True):
    """What an idempotency key was first used for: a fingerprint of that request, and what it produced."""

    request_hash: str
    result_id: str


class AccountState(msgspec.Struct, gc=False, array_like=True):
    account_id: str
    currency: str
    email: str
    name: str
    opened_at: datetime
    invoices: dict[str, Invoice] = {}
    orders: dict[str, Order] = {}
    payments: dict[str, Payment] = {}
    credits: dict[str, Credit] = {}
    applications: list[Application] = []
    authorizations: dict[str, Authorization] = {}
    invitation: Invitation | None = None
    methods: dict[str, SavedMethod] = {}
    default_method: str | None = None
    autopay_method: str | None = None
    idempotency: dict[str, IdempotencyRecord] = {}
    invoice_sequence: int = 0
    credit_sequence: int = 0
    #: Payments waiting on the bank (ACH), in the order they were submitted: what they will pay counts as paid
    #: for the exact amount due (seed 003).
    pending_payments: list[str] = []
    #: The cart links sent, by cart id (seed 004): a checkout names its cart and proves it with the link's token.
    carts: dict[str, Cart] = {}

    def open_invoices(self) -> list[Invoice]:
        """Open invoices, oldest first: by invoice date, then by the order they were issued in."""
        found = [inv for inv in self.invoices.values() if inv.open > 0]
        found.sort(key=lambda inv: (inv.issued_on, inv.sequence))
        return found

    def open_credits(self) -> list[Credit]:
        """Credits with money left that any payment spends (seed 001), oldest first: not a deposit held for a
        purpose (seed 000), which waits for a CSR to apply it."""
        return sorted((c for c in self.credits.values() if c.remaining > 0 and c.purpose is None),
                      key=lambda c: c.sequence)

    @property
    def spendable_credit(self) -> int:
        """What the open credits that any payment spends add up to."""
        return sum(c.remaining for c in self.open_credits())

    def open_amount(self, kind: TargetKind, target_id: str) -> int:
        """Open amount of an invoice or an order (0 when it is unknown, void, paid or cancelled)."""
        if kind == "invoice":
            inv = self.invoices.get(target_id)
            return inv.open if inv else 0
        order = self.orders.get(target_id)
        return order.open if order else 0

    def pending_on(self, kind: TargetKind, target_id: str) -> list[tuple[str, int]]:
        """(payment, amount) of each pending payment meant for one invoice or order: its explicit lines, or what
        its distribution planned to pay when it was submitted. A line for an order that was replaced or invoiced
        since is meant for its :meth:`successor` (the money moves along with the order, as applied payments do)."""
        return [(payment_id, line.amount) for payment_id, line in self.pending_lines()
                if self.successor(line.target_kind, line.target_id) == (kind, target_id)]

    def pending_lines(self) -> list[tuple[str, Line]]:
        """(payment, line) of what each pending payment will pay: its explicit lines, what its distribution planned
        when it was submitted, and for a distribution recorded before plans were (PaymentSubmitted 2, ``planned``
        None) the oldest open invoices the others leave due, in the order they were submitted: what its settlement
        will pay (issue 14; the exact amounts, the refusals and the Pay Now list all read it so)."""
        pending = [self.payments[payment_id] for payment_id in self.pending_payments]
        lines = [(p.id, line) for p in pending for line in (*p.instruction.lines, *(p.planned or ()))]
        unplanned = [p for p in pending if p.planned is None and p.instruction.mode == "distribute"]
        if unplanned:
            room = {inv.id: inv.open for inv in self.open_invoices()}
            for _, line in lines:
                if line.target_kind == "invoice" and line.target_id in room:
                    room[line.target_id] -= line.amount
            for payment in unplanned:
                left = payment.amount
                for invoice_id, free in room.items():
                    if (take := min(left, free)) > 0:
                        lines.append((payment.id, Line("invoice", invoice_id, take)))
                        room[invoice_id], left = free - take, left - take
        return lines

    def pending_for(self, kind: TargetKind, target_id: str) -> int:
        """What the pending payments will pay on one invoice or order (:meth:`pending_on`)."""
        return sum(amount for _, amount in self.pending_on(kind, target_id))

    def successor(self, kind: TargetKind, target_id: str) -> tuple[TargetKind, str]:
        """Where money meant for an invoice or order goes now: the order that replaced an order (and so on, seed
        004), then the invoice it became, as applied money moves; or the target itself."""
        order = self.orders.get(target_id) if kind == "order" else None
        while order is not None and order.replaced_by is not None:
            target_id, order = order.replaced_by, self.orders.get(order.replaced_by)
        if order is not None and order.status == "invoiced":
            for invoice in self.invoices.values():
                if invoice.order_id == order.id and not invoice.voided:
                    return "invoice", invoice.id
        return kind, target_id

    def money(self, minor: int) -> str:
        """An amount of the account's currency as a message a person reads states it ("75.00 USD"), never in
        minor units."""
        return format_amount(minor, self.currency, with_currency=True)

    @property
    def balance(self) -> int:
        """What the customer owes on open invoices."""
        return sum(inv.open for inv in self.invoices.values())

    @property
    def orders_due(self) -> int:
        """What the customer owes on open orders (their balance due; a 0.00 quote owes nothing)."""
        return sum(order.open for order in self.orders.values())

    @property
    def credit_balance(self) -> int:
        """Open credit the customer holds (overpayments, memos, deposits)."""
        return sum(c.remaining for c in self.credits.values())
