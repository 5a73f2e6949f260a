"""How an Account's state is written into a snapshot and read back: compact, and lazily for long histories.

The state's Structs are ``array_like`` (no field names in the JSON: a third smaller). On the way back the large
per-id maps (invoices, orders, payments, credits, holds, idempotency records) are read as raw JSON per entry
into :class:`ledger.aggregates.lazy.LazyDict`, and the live applications as one raw array into a
:class:`ledger.aggregates.lazy.LazyList`, so a load decodes only what a command touches.
The wire type is derived from :class:`AccountState`'s own fields: one list of fields, never two.
"""

from __future__ import annotations

import msgspec

from ledger.aggregates.lazy import LazyDict, LazyList
from ledger.aggregates.state import (
    AccountState,
    Application,
    Authorization,
    Credit,
    IdempotencyRecord,
    Invoice,
    Order,
    Payment,
)

#: The maps decoded entry by entry, with the type of their values.
LAZY: dict[str, type[msgspec.Struct]] = {"invoices": Invoice, "orders": Order, "payments": Payment, "credits": Credit,
                                          "authorizations": Authorization, "idempotency": IdempotencyRecord}
_DECODERS = {name: msgspec.json.Decoder(kind) for name, kind in LAZY.items()}
_FIELDS = msgspec.structs.fields(AccountState)


def _wire_field(field: msgspec.structs.FieldInfo) -> tuple[str, object] | tuple[str, object, object]:
    """``field`` of AccountState as stored: a large map's entries and the applications left as raw JSON."""
    if field.name in LAZY:
        kind: object = dict[str, msgspec.Raw]
    elif field.name == "applications":
        kind = msgspec.Raw
    else:
        kind = field.type
    if field.default_factory is not msgspec.NODEFAULT:
        return field.name, kind, msgspec.field(default_factory=field.default_factory)
    if field.default is not msgspec.NODEFAULT:
        return field.name, kind, field.default
    return field.name, kind


#: AccountState as stored, its large maps left encoded.
StateWire: type[msgspec.Struct] = msgspec.defstruct("StateWire", [_wire_field(f) for f in _FIELDS], array_like=True,
                                                    gc=False)
_ENCODER = msgspec.json.Encoder()
_STATE_DECODER = msgspec.json.Decoder(StateWire)
_APPLICATIONS = msgspec.json.Decoder(list[Application])


def from_wire(wire: msgspec.Struct) -> AccountState:
    """The AccountState of a decoded :data:`StateWire` (its large maps still encoded, decoded on first read)."""
    values = {f.name: getattr(wire, f.name) for f in _FIELDS}
    for name, decoder in _DECODERS.items():
        values[name] = LazyDict(values[name], decoder)
    values["applications"] = LazyList(values["applications"], _APPLICATIONS)
    return AccountState(**values)


def for_encoding(state: AccountState) -> AccountState:
    """``state`` ready for a JSON encoder: lazily read applications become their JSON (nothing is decoded);
    lazily read maps encode themselves."""
    if isinstance(state.applications, LazyList):
        return msgspec.structs.replace(state, applications=state.applications.encoded(_ENCODER))
    return state


def encode_state(state: AccountState) -> bytes:
    """The state as stored in a snapshot (entries never read since the last load are written back as they were)."""
    return _ENCODER.encode(for_encoding(state))


def decode_state(data: bytes) -> AccountState:
    """A state written by :func:`encode_state`."""
    return from_wire(_STATE_DECODER.decode(data))


def clone(state: AccountState) -> AccountState:
    """An independent copy of ``state`` (for the account cache): encoded and read back, lazily."""
    return decode_state(encode_state(state))
