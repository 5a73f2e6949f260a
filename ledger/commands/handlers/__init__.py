"""One handler per command: load through the unit, call one aggregate method, return an Outcome."""

from __future__ import annotations

from ledger.commands import messages as m
from ledger.commands.handlers import access, authorizations, credits, invoices, methods, orders, payments, research
from ledger.commands.handlers.registry import Handler

#: Command type -> handler, gathered from the handler modules.
HANDLERS: dict[type[m.Command], Handler] = {
    **access.HANDLERS, **orders.HANDLERS, **invoices.HANDLERS, **payments.HANDLERS, **credits.HANDLERS,
    **authorizations.HANDLERS, **methods.HANDLERS, **research.HANDLERS,
}
