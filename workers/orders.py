"""The orders worker (seed 004): once the customer checks out a reauthorization at the new price, cancel the
old order, create the new one and link them, with a command back to the ledger. A failed reauthorization
already flags the order for manual processing in the ledger itself (``ReauthorizationFailed``)."""

from __future__ import annotations

import asyncio
from typing import Any

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.money import format_amount

WORKER = m.ActorIn(kind="worker", name="orders", channel="system")


class OrdersWorker:
    """Cancel-and-relink after a reauthorization."""

    name = "orders"
    wants = frozenset({"Reauthorized"})
    #: Its commands carry idempotency keys / deterministic ids: doing one again is answered as a repeat.
    repeatable = True

    def __init__(self, store: Any, service: Any) -> None:
        self.store = store
        self.service = service

    async def handle(self, event: Any, event_id: str) -> None:
        """Replace the order the new authorization was made for (idempotent: a replay is answered as done)."""
        if not isinstance(event, ev.Reauthorized):
            return
        state = (await asyncio.to_thread(self.store.account, event.originator_id)).state
        order = state.orders.get(event.order_id)
        if order is None or order.status != "open":
            return
        command = m.ReplaceOrder(account=state.account_id, order=event.order_id,
                                 new_order=f"{event.order_id}-{event.new_authorization_id}",
                                 amount=format_amount(event.amount, state.currency), actor=WORKER)
        await asyncio.to_thread(self.service.handle, command)
