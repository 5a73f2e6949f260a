"""Command messages: what portals, CSRs, the CLI and the NATS service ask the ledger to do.

Amounts are decimal strings ("120.50"); the edge validates them into minor units. Every money command has an
idempotency ``key`` (defaulting to one derived from its business id): the same key twice has the effect of
once and answers the first result; the same key with a different body is refused.
"""

from ledger.commands.messages.access import *  # noqa: F403
from ledger.commands.messages.authorizations import *  # noqa: F403
from ledger.commands.messages.base import AccountCommand, ActorIn, Command, Outcome
from ledger.commands.messages.credits import *  # noqa: F403
from ledger.commands.messages.invoices import *  # noqa: F403
from ledger.commands.messages.methods import *  # noqa: F403
from ledger.commands.messages.orders import *  # noqa: F403
from ledger.commands.messages.payments import *  # noqa: F403
from ledger.commands.messages.research import *  # noqa: F403

__all__ = ["AccountCommand", "ActorIn", "Command", "Outcome"]
