"""How handler modules register their handlers, and the common Outcome of a recording command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.commands import messages as m
from ledger.commands.unit import Unit

Handler = Callable[..., m.Outcome]


class HandlerRegistry(dict[type[Any], Handler]):
    """Command type -> handler; ``@HANDLERS.on(Command)`` registers one."""

    def on(self, command: type[Any]) -> Callable[[Handler], Handler]:
        """Decorator registering the handler of ``command``."""

        def register(func: Handler) -> Handler:
            self[command] = func
            return func

        return register


def recorded(unit: Unit, account_id: str | None, reference: str, **extra: Any) -> m.Outcome:
    """The outcome of a command that recorded events on the unit's aggregates."""
    names = tuple(type(e).__name__ for agg in unit.touched for e in getattr(agg, "pending_events", ()))
    return m.Outcome(account=account_id, reference=reference, events=names, **extra)


def replayed(account_id: str | None, reference: str, **extra: Any) -> m.Outcome:
    """The outcome of an idempotent repeat: nothing written, the first result answered."""
    return m.Outcome(account=account_id, reference=reference, replayed=True, **extra)
