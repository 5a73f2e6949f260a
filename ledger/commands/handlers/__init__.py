"""One handler per command: load through the unit, call one aggregate method, return an Outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.commands.handlers import access, authorizations, credits, invoices, methods, orders, payments, research

#: Command type -> handler, gathered from the handler modules.
HANDLERS: dict[type[Any], Callable[..., Any]] = {
    **access.HANDLERS, **orders.HANDLERS, **invoices.HANDLERS, **payments.HANDLERS, **credits.HANDLERS,
    **authorizations.HANDLERS, **methods.HANDLERS, **research.HANDLERS,
}
