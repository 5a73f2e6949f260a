"""What a projection is: a named read model in its own SQLite file, built by one handler per event type.

A projection never calls another and never writes events; it can be dropped and rebuilt from the log at any
time. Its position in the log is written in the same transaction as the rows a batch changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import singledispatchmethod
from typing import ClassVar, NamedTuple

import msgspec

from ledger.aggregates.events.base import Event
from ledger.projections.schema import Schema

#: A value SQLite stores: a read model's cell, a query's parameter.
SqlValue = str | int | float | bytes | None
#: A resolved handler: ``handler(event, db, meta)``.
Handler = Callable[[Event, sqlite3.Connection, "Meta"], None]


class Meta(NamedTuple):
    """Facts about one event computed once per batch and shared by every projection."""

    position: int
    account: str
    at: str


_timestamp_json = msgspec.json.Encoder().encode


def iso_text(moment: datetime) -> str:
    """``moment.isoformat()`` of an aware datetime whose offset is whole minutes (events are stamped in UTC by
    the clock port), at half the cost: msgspec writes RFC 3339 in C.

    The two spell such instants alike except UTC, which msgspec writes ``Z`` and ``isoformat`` ``+00:00``; stored
    rows keep the ``isoformat`` spelling. Equality with ``isoformat`` is a property test. (RFC 3339 has no
    seconds in offsets: msgspec drops them, ``isoformat`` keeps them.)
    """
    text = _timestamp_json(moment)[1:-1].decode()
    return text[:-1] + "+00:00" if text[-1] == "Z" else text


class MetaMaker:
    """Builds :class:`Meta` for a batch of events, remembering what consecutive events share.

    ``str(UUID)`` is slow, so the text of recent aggregate ids is kept; events of one command share a
    timestamp, so the text of the last one is kept too.
    """

    def __init__(self, remember: int = 100_000) -> None:
        self._names: dict[int, str] = {}
        self._remember = remember
        self._last: tuple[datetime | None, str] = (None, "")

    def batch(self, items: Sequence[tuple[int, Event]]) -> list[tuple[Meta, Event]]:
        """(Meta, event) for each (position, event) of ``items``, in order."""
        names = self._names
        last, last_at = self._last
        out: list[tuple[Meta, Event]] = []
        append = out.append
        for position, event in items:
            number = event.originator_id.int  # hashing the int skips UUID.__hash__, a Python-level call
            name = names.get(number)
            if name is None:
                if len(names) >= self._remember:
                    names.clear()
                name = names[number] = str(event.originator_id)
            moment = event.timestamp
            if moment != last:
                last, last_at = moment, iso_text(moment)
            append((Meta(position, name, last_at), event))
        self._last = (last, last_at)
        return out


class Projection:
    """Base of every read model: ``schema`` creates its tables, ``apply`` handles one event.

    ``apply`` is either a plain method (every event) or a ``singledispatchmethod`` with one handler per event
    type, whose default handler means "not shown here": the runner then skips those events without a call.
    """

    #: File and table-set name, e.g. ``balances`` -> ``var/projections/balances.db``.
    name: ClassVar[str] = ""
    #: Raise when the schema or the meaning of rows changes; a stored projection of another version is stale.
    version: ClassVar[int] = 1
    #: The projection's tables, indexes and views (created and migrated with sqlite-utils).
    layout: ClassVar[Schema] = Schema(())
    #: The file position this instance's in-memory caches reflect (-1: none yet); the runner resets the
    #: caches when the file is found elsewhere (another process or runner applied events meanwhile).
    synced_at: int = -1

    def schema(self, db: sqlite3.Connection, *, indexes: bool = True) -> None:
        """Create the projection's tables (idempotent); a rebuild creates secondary indexes only at the end.

        Checked once per connection (a runner catches up many times a second on the same one; a swapped file
        is opened on a new connection)."""
        if self.__dict__.get("_schema_on") == (db, indexes):
            return
        self.layout.create(db, indexes=indexes)
        self.__dict__["_schema_on"] = (db, indexes)

    def apply(self, event: Event, db: sqlite3.Connection, meta: Meta) -> None:
        """Apply one event (subclasses dispatch on its type; events they don't show are ignored)."""
        raise NotImplementedError

    def handler(self, event_type: type) -> Handler | None:
        """The bound handler of ``event_type`` (None when this projection ignores it), resolved once per type."""
        handlers: dict[type, Handler | None] = self.__dict__.setdefault("_handlers", {})
        if event_type not in handlers:
            declared = type(self).__dict__.get("apply")
            if isinstance(declared, singledispatchmethod):
                function = declared.dispatcher.dispatch(event_type)
                ignored = function is declared.dispatcher.dispatch(object)
                handlers[event_type] = None if ignored else function.__get__(self)
            else:
                handlers[event_type] = self.apply
        return handlers[event_type]

    def finish_batch(self, db: sqlite3.Connection) -> None:
        """Called once per batch before commit (for projections that buffer)."""

    def reset(self) -> None:
        """Forget in-memory caches (after a rolled-back batch they would be ahead of the file; after another
        runner wrote to the file, behind it)."""
        fresh = type(self)()
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
