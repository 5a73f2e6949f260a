"""A msgspec mapper for eventsourcing: events are encoded as JSON by msgspec, typed on the way back.

Measured by the research notes: ~0.2 us to encode and ~0.4 us to decode an event, against 7 us / 4 us for the
library's default JSON transcoder. JSON keeps stored rows readable by auditors with plain SQL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.aggregates.root import AccountSnapshot
from ledger.store import topics

_encoder = msgspec.json.Encoder()
#: The decoder of each topic naming an event type's current version (the common case, one lookup).
_current: dict[str, msgspec.json.Decoder[Any]] = {}


def encode_event(event: Any) -> bytes:
    """The JSON bytes of an event or snapshot (the same bytes the store keeps, before compression/cipher)."""
    if isinstance(event, AccountSnapshot):
        event = event.for_encoding()
    return _encoder.encode(event)


class StaleSnapshot(LookupError):
    """A snapshot taken with an older shape of the Account state: ignore it and replay the events."""


def decode_event(topic: str, data: bytes) -> Any:
    """Decode stored JSON into its typed event, upcasting older versions."""
    decoder = _current.get(topic)
    if decoder is not None:
        return decoder.decode(data)
    cls, version = topics.resolve(topic)
    if cls is AccountSnapshot and version != topics.SNAPSHOT_VERSION:
        raise StaleSnapshot(topic)
    if cls is AccountSnapshot:
        return AccountSnapshot.decode(data)
    current = cls.class_version
    if version == current:
        decoder = _current[topic] = msgspec.json.Decoder(cls)
        return decoder.decode(data)
    state = topics.upcast(cls.__name__, version, current, msgspec.json.decode(data))
    return msgspec.convert(state, cls)


class MsgspecMapper(Mapper[Any]):
    """Converts between msgspec event Structs and eventsourcing's StoredEvent."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = encode_event(domain_event)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topics.topic_of(type(domain_event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return decode_event(stored_event.topic, state)
