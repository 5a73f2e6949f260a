"""The orders worker (seed 004): "If the price on the original quote or order has gone up, once the customer
checks out authorizing the increased amount, the old order will be canceled and the new order will be
created", linked to the old one, with a command back to the ledger. The price has gone up when the order was
repriced above its price when the old hold was placed, or when the customer approved more than the order's
price (a cart sent for a new amount not yet recorded on the order). An expired hold renewed at the same price,
or a price that fell, keeps the order. A failed reauthorization already flags the
order for manual processing in the ledger itself (``ReauthorizationFailed``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.commands import messages as m
from ledger.money import format_amount

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore
    from workers.consumer import CommandService

WORKER = m.ActorIn(kind="worker", name="orders", channel="system")


class OrdersWorker:
    """Cancel-and-relink after a reauthorization."""

    name = "orders"
    wants = frozenset({"Reauthorized"})
    #: Its commands carry idempotency keys / deterministic ids: doing one again is answered as a repeat.
    repeatable = True

    def __init__(self, store: LedgerStore, service: CommandService) -> None:
        self.store = store
        self.service = service

    async def handle(self, event: Event, event_id: str) -> None:
        """Replace the order whose price went up (idempotent: a replay is answered as done).

        The new order's price is what was paid on the old one plus the new hold, which covers at least the
        balance due (the ledger refuses less): the price the customer approved at checkout. Both are read from
        the account as it was at the reauthorization (a capture of the new hold since then is no payment on top
        of it); that the order is still open, from the account as it is now.
        """
        if not isinstance(event, ev.Reauthorized):
            return
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
