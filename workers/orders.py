"""The orders worker (seed 004): "If the price on the original quote or order has gone up, once the customer
checks out authorizing the increased amount, the old order will be canceled and the new order will be
created", linked to the old one, with a command back to the ledger. The price has gone up when the order was
repriced above its price when the old hold was placed, or when the customer approved more than the order's
price (a cart sent for a new amount not yet recorded on the order). An expired hold renewed at the same price,
or a price that fell, keeps the order. A failed reauthorization already flags the
order for manual processing in the ledger itself (``ReauthorizationFailed``).

It also releases the holds of an order that was paid by other means (by phone after a failed reauthorization,
a payment or credit applied to the order or to the invoice it became): nothing is left on it to capture, so
the customer's funds are freed at once rather than after up to 29 days, and CSRs no longer see the hold as
expiring."""

from __future__ import annotations

import asyncio
from typing import Any

from ledger.aggregates import events as ev
from ledger.aggregates.state import LIVE_HOLDS, AccountState
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.money import format_amount

WORKER = m.ActorIn(kind="worker", name="orders", channel="system")


class OrdersWorker:
    """Cancel-and-relink after a reauthorization; release the holds of an order paid by other means."""

    name = "orders"
    wants = frozenset({"Reauthorized", "PaymentApplied", "CreditApplied"})
    #: Its commands carry idempotency keys / deterministic ids: doing one again is answered as a repeat.
    repeatable = True

    def __init__(self, store: Any, service: Any) -> None:
        self.store = store
        self.service = service

    async def handle(self, event: Any, event_id: str) -> None:
        """Replace the order whose price went up after a reauthorization; void the holds of an order that money
        applied to it (or to its invoice) left with nothing due."""
        if isinstance(event, ev.Reauthorized):
            await self._relink(event)
        elif isinstance(event, ev.PaymentApplied | ev.CreditApplied):
            await self._release_paid(event)

    async def _relink(self, event: ev.Reauthorized) -> None:
        """Replace the order whose price went up (idempotent: a replay is answered as done).

        The new order's price is what was paid on the old one plus the new hold, which covers at least the
        balance due (the ledger refuses less): the price the customer approved at checkout. Both are read from
        the account as it was at the reauthorization (a capture of the new hold since then is no payment on top
        of it); that the order is still open, from the account as it is now.
        """
        then = (await asyncio.to_thread(self.store.account, event.originator_id, event.originator_version)).state
        order = then.orders.get(event.order_id)
        old = then.authorizations.get(event.authorization_id)
        if order is None or old is None:
            return
        approved = order.paid + event.amount
        repriced_up = old.order_price is not None and order.amount > old.order_price
        if not (repriced_up or approved > order.amount):
            return
        state = (await asyncio.to_thread(self.store.account, event.originator_id)).state
        if state.orders[order.id].status != "open":
            return
        command = m.ReplaceOrder(account=state.account_id, order=event.order_id,
                                 new_order=f"{event.order_id}-{event.new_authorization_id}",
                                 amount=format_amount(max(approved, order.amount), state.currency),
                                 actor=WORKER)
        await asyncio.to_thread(self.service.handle, command)

    async def _release_paid(self, event: ev.PaymentApplied | ev.CreditApplied) -> None:
        """Void the live holds (active, waiting on a checkout, or after a failed reauthorization) of the order
        ``event`` paid, directly or through its invoice, once nothing is due on it; decided on the account as
        it is now, so a redelivery, or a hold captured or voided meanwhile, does nothing more."""
        state = (await asyncio.to_thread(self.store.account, event.originator_id)).state
        order_id = paid_order(state, event.target_kind, event.target_id)
        if order_id is None:
            return
        for auth in [a for a in state.authorizations.values() if a.order_id == order_id and a.status in LIVE_HOLDS]:
            command = m.VoidAuthorization(account=state.account_id, authorization=auth.id, reason="order paid",
                                          actor=WORKER)
            try:
                await asyncio.to_thread(self.service.handle, command)
            except LedgerError as error:
                if error.code != "not_voidable":  # captured or expired meanwhile: nothing left to release
                    raise


def paid_order(state: AccountState, target_kind: str, target_id: str) -> str | None:
    """The order that money applied to ``target_kind`` ``target_id`` left with nothing due (the order itself, or
    the one an invoice was issued for), or None: something is still due, or it is no order's."""
    if target_kind == "order":
        order = state.orders.get(target_id)
        return order.id if order is not None and order.status == "open" and order.open == 0 else None
    invoice = state.invoices.get(target_id)
    if invoice is None or invoice.order_id is None or invoice.voided or invoice.open > 0:
        return None
    order = state.orders.get(invoice.order_id)
    return order.id if order is not None and order.status == "invoiced" else None
