"""Copy a whole event store to another database (SQLite -> PostgreSQL, or back), verified by a hash chain.

The copy keeps every event's aggregate id, version, topic and stored bytes, in log order; notification ids may
differ (PostgreSQL assigns its own). Verification computes a chain over the events' content on both sides.
Snapshots are not copied: they are rebuilt from the events as accounts are loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
from eventsourcing.persistence import StoredEvent

from ledger.config import Settings
from ledger.errors import Conflict, LedgerError, ValidationError
from ledger.projections.chain import content_chain
from ledger.projections.runner import RawNote, StoreLog
from ledger.store.application import LedgerStore


class Migration(msgspec.Struct, frozen=True):
    events: int
    source_chain: str
    target_chain: str
    verified: bool


def settings_for(spec: str, field: str) -> Settings:
    """``sqlite:PATH`` or ``postgres:DSN[#schema]`` as settings."""
    kind, _, rest = spec.partition(":")
    if kind == "sqlite" and rest:
        return Settings.from_env({}, db_path=Path(rest))
    if kind == "postgres" and rest:
        dsn, _, schema = rest.partition("#")
        return Settings.from_env({}, store="postgres", postgres_dsn=dsn, postgres_schema=schema)
    raise ValidationError(f"{spec!r} is not sqlite:PATH or postgres:DSN", field=field)


def _notes(log: StoreLog, batch: int) -> Iterator[RawNote]:
    after = 0
    while True:
        notes = log.read_raw(after, batch)
        if not notes:
            return
        yield from notes
        after = notes[-1].id


def migrate(source: LedgerStore, target: LedgerStore, *, batch: int = 5000,
            progress: Callable[[int], None] | None = None) -> Migration:
    """Copy every event of ``source`` into the empty ``target`` and verify both chains match."""
    if target.recorder.max_notification_id():
        raise Conflict("the target store is not empty", field="to", code="target_not_empty")
    log = StoreLog(source)
    pending: list[StoredEvent] = []
    for note in _notes(log, batch):
        pending.append(StoredEvent(originator_id=note.originator_id, originator_version=note.originator_version,
                                   topic=note.topic, state=note.state))
        if len(pending) >= batch:
            target.recorder.insert_events(pending)
            if progress:
                progress(len(pending))
            pending = []
    if pending:
        target.recorder.insert_events(pending)
        if progress:
            progress(len(pending))
    count, source_head = content_chain(_notes(log, batch))
    copied, target_head = content_chain(_notes(StoreLog(target), batch))
    return Migration(count, source_head, target_head, count == copied and source_head == target_head)


def run(source_spec: str, target_spec: str, progress: Callable[[int], None] | None = None) -> Migration:
    """Open both stores by spec, migrate, close."""
    source = LedgerStore(settings_for(source_spec, "from"))
    try:
        target = LedgerStore(settings_for(target_spec, "to"))
    except LedgerError:
        source.close()
        raise
    try:
        return migrate(source, target, progress=progress)
    finally:
        source.close()
        target.close()

