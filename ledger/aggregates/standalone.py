"""Aggregates of their own beside the Accounts: a guest payment awaiting research, a portal login.

Each starts with one event (``first``) and hands its new events to the store as an Account does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Self
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from ledger.aggregates import events as ev
from ledger.errors import NotFound


class Standalone:
    """Identity, version and pending events of an aggregate created by its ``first`` event."""

    first: ClassVar[type[ev.Event]]
    #: (message, field) of the NotFound raised for a history that does not start with ``first``.
    unknown: ClassVar[tuple[str, str]]

    def __init__(self, first: ev.Event) -> None:
        self.id: UUID = first.originator_id
        self.version = first.originator_version
        self.modified_on = first.timestamp
        self._pending: list[ev.Event] = []

    def mutate(self, event: ev.Event) -> None:
        """Apply one later event (subclasses change their state, then call this)."""
        self.version = event.originator_version
        self.modified_on = event.timestamp

    @property
    def pending_events(self) -> tuple[ev.Event, ...]:
        """Events recorded by this command and not yet saved."""
        return tuple(self._pending)

    def collect_events(self) -> list[ev.Event]:
        """Hand pending events to the store."""
        pending, self._pending = self._pending, []
        return pending

    @classmethod
    def projector(cls, aggregate: Self | None, events: Iterable[DomainEventProtocol[UUID]]) -> Self | None:
        """Rebuild from stored events (eventsourcing's projector_func)."""
        for event in events:
            if isinstance(event, cls.first):
                aggregate = cls(event)
            elif aggregate is None:
                message, field = cls.unknown
                raise NotFound(message, field=field)
            elif isinstance(event, ev.Event):
                aggregate.mutate(event)
            else:
                raise TypeError(f"{cls.__name__}'s history holds ledger events, not {type(event).__name__}")
        return aggregate
