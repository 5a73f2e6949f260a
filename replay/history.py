"""Streaming the whole event log for finance replays (from the store, never from the projections)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ledger.projections.runner import StoreLog


def events(store: Any, *, until: datetime | None = None, batch: int = 10_000) -> Iterator[tuple[int, Any]]:
    """(position, event) for every stored event, in log order; with ``until``, only events recorded at or
    before that instant."""
    log = StoreLog(store)
    after = 0
    while True:
        items = log.read(after, batch)
        if not items:
            return
        for position, event in items:
            if until is None or event.timestamp <= until:
                yield position, event
        after = items[-1][0]
