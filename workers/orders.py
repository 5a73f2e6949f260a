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
from ledger.aggregates.orders import price_after_reauthorization
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

        Whether it went up, and the new price (:func:`ledger.aggregates.orders.price_after_reauthorization`),
        are read from the account as it was at the reauthorization (a capture of the new hold since then is no
        payment on top of it); that the order is still open, from the account as it is now.
        """
        if not isinstance(event, ev.Reauthorized):
            return
        then = (await asyncio.to_thread(self.store.account, event.originator_id, event.originator_version)).state
        price = price_after_reauthorization(then, event)
        if price is None:
            return
        state = (await asyncio.to_thread(self.store.account, event.originator_id)).state
        if state.orders[event.order_id].status != "open":
            return
        command = m.ReplaceOrder(account=state.account_id, order=event.order_id,
                                 new_order=f"{event.order_id}-{event.new_authorization_id}",
                                 amount=format_amount(price, state.currency), actor=WORKER)
        await asyncio.to_thread(self.service.handle, command)
