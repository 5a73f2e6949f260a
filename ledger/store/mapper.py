"""A msgspec mapper for eventsourcing: events are encoded as JSON by msgspec, typed on the way back.

Measured by the research notes: ~0.2 us to encode and ~0.4 us to decode an event, against 7 us / 4 us for the
library's default JSON transcoder. JSON keeps stored rows readable by auditors with plain SQL.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.aggregates.events.base import Event
from ledger.aggregates.root import AccountSnapshot
from ledger.store import topics

_encoder = msgspec.json.Encoder()
#: The decoder of each topic naming an event type's current version (the common case, one lookup).
_current: dict[str, msgspec.json.Decoder[Event]] = {}
#: What the store keeps: events, and (in the snapshots table) Account snapshots.
Stored = Event | AccountSnapshot


def encode_event(event: Stored) -> bytes:
    """The JSON bytes of an event or snapshot (the same bytes the store keeps, before compression/cipher)."""
    if isinstance(event, AccountSnapshot):
        return _encoder.encode(event.for_encoding())
    return _encoder.encode(event)


class StaleSnapshot(LookupError):
    """A snapshot taken with an older shape of the Account state: ignore it and replay the events."""


def decode_event(topic: str, data: bytes) -> Event:
    """Decode an event of the notification log (which holds events only) into its type, upcasting older
    versions."""
    return cast(Event, decode_stored(topic, data))


def decode_stored(topic: str, data: bytes) -> Stored:
    """Decode stored JSON into its typed event or snapshot, upcasting older versions."""
    decoder = _current.get(topic)
    if decoder is not None:
        return decoder.decode(data)
    cls, version = topics.resolve(topic)
    if issubclass(cls, AccountSnapshot):
        if version != topics.SNAPSHOT_VERSION:
            raise StaleSnapshot(topic)
        return AccountSnapshot.decode(data)
    current = cls.class_version
    if version == current:
        decoder = _current[topic] = msgspec.json.Decoder(cls)
        return decoder.decode(data)
    state = topics.upcast(cls.__name__, version, current, msgspec.json.decode(data, type=dict[str, object]))
    return msgspec.convert(state, cls)


class MsgspecMapper(Mapper[UUID]):
    """Converts between msgspec event Structs and eventsourcing's StoredEvent."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event = cast(Stored, domain_event)  # the ledger stores its own events and snapshots only
        state = encode_event(event)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=topics.topic_of(type(event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return decode_stored(stored_event.topic, plain_state(self, stored_event.state))


def plain_state(mapper: Mapper[UUID], state: bytes) -> bytes:
    """Stored bytes as :func:`encode_event` wrote them: decrypted and decompressed where the store does that."""
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    return state
