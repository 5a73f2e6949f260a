"""Streaming the whole event log for finance replays (from the store, never from the projections)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.aggregates.events.base import Event
from ledger.projections.runner import EventLog, FileLog, ListLog, StoreLog

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore


def log_of(source: LedgerStore) -> EventLog:
    """The notification log of a store, or ``source`` itself when it is already a log (tests, files)."""
    return source if isinstance(source, ListLog | FileLog | StoreLog) else StoreLog(source)


def events(source: LedgerStore, *, until: datetime | None = None, batch: int = 10_000,
           progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, Event]]:
    """(position, event) for every stored event, in log order.

    With ``until``, each aggregate's history is cut before its first event recorded at or after that instant
    (periods are half-open everywhere: as of the start of October is the closing of September, and an event
    at midnight on 1 October belongs to October). The cut keeps a prefix of every history, so the state
    replayed is one the aggregate really had, even in a store written before commands dated before an
    account's newest event were refused. ``progress`` is told how many events each batch read.
    """
    log = log_of(source)
    cut: set[UUID] = set()
    after = 0
    while True:
        items = log.read(after, batch)
        if not items:
            return
        if progress is not None:
            progress(len(items))
        for position, event in items:
            if until is not None and (event.originator_id in cut or event.timestamp >= until):
                cut.add(event.originator_id)
                continue
            yield position, event
        after = items[-1][0]
