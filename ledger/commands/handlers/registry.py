"""How handler modules register their handlers, and the common Outcome of a recording command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ledger.commands import messages as m
from ledger.commands.unit import Unit

C = TypeVar("C", bound=m.Command)
#: A handler as the dispatcher calls it: the unit of the attempt and the command it was registered for.
Handler = Callable[[Unit, Any], m.Outcome]


class HandlerRegistry(dict[type[m.Command], Handler]):
    """Command type -> handler; ``@HANDLERS.on(Command)`` registers one."""

    def on(self, command: type[C]) -> Callable[[Callable[[Unit, C], m.Outcome]], Callable[[Unit, C], m.Outcome]]:
        """Decorator registering the handler of ``command`` (mypy checks that it takes that command)."""

        def register(func: Callable[[Unit, C], m.Outcome]) -> Callable[[Unit, C], m.Outcome]:
            self[command] = func
            return func

        return register


def recorded(unit: Unit, account_id: str | None, reference: str, *, status: str | None = None,
             transaction_id: str | None = None, detail: str = "") -> m.Outcome:
    """The outcome of a command that recorded events on the unit's aggregates."""
    names = tuple(type(e).__name__ for agg in unit.touched for e in getattr(agg, "pending_events", ()))
    return m.Outcome(account=account_id, reference=reference, events=names, status=status,
                     transaction_id=transaction_id, detail=detail)


def replayed(account_id: str | None, reference: str, *, status: str | None = None,
             transaction_id: str | None = None) -> m.Outcome:
    """The outcome of an idempotent repeat: nothing written, the first result answered."""
    return m.Outcome(account=account_id, reference=reference, replayed=True, status=status,
                     transaction_id=transaction_id)
