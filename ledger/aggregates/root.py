"""The aggregate root machinery shared by the Account's decision modules: record an event, collect, replay."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol

from ledger.aggregates import events as ev
from ledger.aggregates import state_codec
from ledger.aggregates.evolve import evolve, opened
from ledger.aggregates.state import AccountState
from ledger.errors import NotFound

E = TypeVar("E", bound=ev.Event)


class AccountSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The whole Account state at one version, so long histories load fast."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    state: AccountState

    def for_encoding(self) -> AccountSnapshot:
        """This snapshot ready for a JSON encoder (see :func:`ledger.aggregates.state_codec.for_encoding`)."""
        return msgspec.structs.replace(self, state=state_codec.for_encoding(self.state))

    @classmethod
    def decode(cls, data: bytes) -> AccountSnapshot:
        """A stored snapshot (current version), its large maps decoded entry by entry on first read."""
        wire = _SNAPSHOT_DECODER.decode(data)
        return cls(originator_id=wire.originator_id, originator_version=wire.originator_version,
                   timestamp=wire.timestamp, state=state_codec.from_wire(wire.state))

    @classmethod
    def take(cls, aggregate: AccountRoot) -> AccountSnapshot:
        """Snapshot of ``aggregate`` as it is now (timestamp of its last event, for determinism)."""
        return cls(originator_id=aggregate.id, originator_version=aggregate.version,
                   timestamp=aggregate.modified_on, state=aggregate.state)


#: AccountSnapshot as stored: its own fields, the state's large maps left encoded (``state_codec.StateWire``).
_SnapshotWire: Any = msgspec.defstruct(
    "SnapshotWire", [(f.name, state_codec.StateWire if f.name == "state" else f.type)
                     for f in msgspec.structs.fields(AccountSnapshot)], kw_only=True, frozen=True)
_SNAPSHOT_DECODER = msgspec.json.Decoder(_SnapshotWire)


class AccountRoot:
    """Identity, version, state and pending events of one customer Account."""

    Snapshot = AccountSnapshot

    def __init__(self, aggregate_id: UUID, version: int, state: AccountState, modified_on: datetime) -> None:
        self.id = aggregate_id
        self.version = version
        self.state = state
        self.modified_on = modified_on
        self._pending: list[ev.Event] = []

    def __deepcopy__(self, memo: dict[int, object]) -> AccountRoot:
        """A fast deep copy (the state encoded and read back lazily), used by the store's aggregate cache."""
        copy = type(self)(self.id, self.version, state_codec.clone(self.state), self.modified_on)
        copy._pending = list(self._pending)
        return copy

    def trigger(self, ctx: ev.Context, event_class: type[E], **fields: Any) -> E:
        """Record a new event: stamp it with id, next version, the command's time and actor; apply it."""
        at = ctx.stamp(self.modified_on, f"account {self.state.account_id}")
        event = event_class(originator_id=self.id, originator_version=self.version + 1, timestamp=at,
                            by=ctx.by, **fields)
        self.mutate(event)
        self._pending.append(event)
        return event

    def mutate(self, event: ev.Event) -> None:
        """Apply one stored or new event to the state."""
        evolve(event, self.state)
        self.version = event.originator_version
        self.modified_on = event.timestamp

    def collect_events(self) -> list[ev.Event]:
        """Hand the pending events to the store (eventsourcing's CollectEventsProtocol)."""
        pending, self._pending = self._pending, []
        return pending

    @property
    def pending_events(self) -> tuple[ev.Event, ...]:
        """Events recorded by this command and not yet saved."""
        return tuple(self._pending)

    @classmethod
    def projector(cls, aggregate: Self | None, events: Iterable[DomainEventProtocol[UUID]]) -> Any:
        """Rebuild an Account from an optional snapshot followed by events (eventsourcing's projector_func); None
        from no events."""
        for event in events:
            if isinstance(event, AccountSnapshot):
                aggregate = cls(event.originator_id, event.originator_version,
                                event.state, event.timestamp)
            elif isinstance(event, ev.AccountOpened):
                aggregate = cls(event.originator_id, event.originator_version, opened(event), event.timestamp)
            elif aggregate is None:
                raise NotFound("account history does not start with AccountOpened", field="account")
            elif isinstance(event, ev.Event):
                aggregate.mutate(event)
            else:
                raise TypeError(f"an account's history holds ledger events, not {type(event).__name__}")
        return aggregate
