"""The event catalogue (DESIGN.md): every invitation, order, invoice, payment, application, credit,
authorization and method change is one of these immutable events."""

from ledger.aggregates.events.access import *  # noqa: F403
from ledger.aggregates.events.authorizations import *  # noqa: F403
from ledger.aggregates.events.base import EVENT_TYPES, SYSTEM, Actor, Context, Event
from ledger.aggregates.events.credits import *  # noqa: F403
from ledger.aggregates.events.invoices import *  # noqa: F403
from ledger.aggregates.events.methods import *  # noqa: F403
from ledger.aggregates.events.orders import *  # noqa: F403
from ledger.aggregates.events.payments import *  # noqa: F403
from ledger.aggregates.events.research import *  # noqa: F403

__all__ = ["EVENT_TYPES", "SYSTEM", "Actor", "Context", "Event"]
