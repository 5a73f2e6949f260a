"""Copy a whole event store to another database (SQLite -> PostgreSQL, or back), verified by a hash chain.

The copy keeps every event's aggregate id, version, topic and stored bytes, in log order; notification ids may
differ (PostgreSQL assigns its own). Verification computes ``content_chain`` (``ledger.projections.chain``: a
SHA-256 chain over each event's content in log order, independent of positions) over the copied range of the
source and over the whole target; they must be equal. Snapshots are not copied: they are taken again as
accounts are saved, and accounts load from their events meanwhile.

The source is read through :class:`ledger.store.log_reader.CommittedLog`, so a PostgreSQL source with gaps is
read completely and in order. Writers should be stopped during a migration; events written to the source after
the copy started are simply not part of it (the result says how many were copied and verified). An
interrupted copy is continued with ``resume=True`` (``--resume``): the target must then be an exact prefix of
the source, which is checked with the same chain before anything more is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
from eventsourcing.persistence import StoredEvent

from ledger.config import Settings
from ledger.errors import Conflict, LedgerError, NotFound, ValidationError
from ledger.projections.chain import content_chain
from ledger.store.application import LedgerStore
from ledger.store.log_reader import CommittedLog, Note
from ledger.store.postgres_factory import connect_directly


class Migration(msgspec.Struct, frozen=True):
    """What ``migrate`` did: events in the target, the two chain heads, and whether they match."""

    events: int
    source_chain: str
    target_chain: str
    verified: bool
    resumed_after: int = 0


def settings_for(spec: str, field: str) -> Settings:
    """``sqlite:PATH`` or ``postgres:DSN[#schema]`` as settings."""
    kind, _, rest = spec.partition(":")
    if kind == "sqlite" and rest:
        if field == "from" and not Path(rest).is_file():
            raise NotFound(f"no SQLite event store at {rest}", field=field)
        return Settings.from_env({}, db_path=Path(rest))
    if kind == "postgres" and rest:
        dsn, _, schema = rest.partition("#")
        settings = Settings.from_env({}, store="postgres", postgres_dsn=dsn, postgres_schema=schema)
        _check_postgres(settings, field)
        return settings
    raise ValidationError(f"{spec!r} is not sqlite:PATH or postgres:DSN", field=field)


def _check_postgres(settings: Settings, field: str) -> None:
    """Before the store is opened (which creates its tables): the schema must exist, and a source must hold an
    event store; a DSN with the schema forgotten would otherwise create empty tables in the wrong place and copy
    nothing, successfully."""
    schema = settings.postgres_schema or "public"  # eventsourcing's default
    table = f"{LedgerStore.name.lower()}_events"
    with connect_directly(settings.postgres_dsn, field) as conn:
        if conn.execute("select 1 from information_schema.schemata where schema_name = %s", (schema,)).fetchone() \
                is None:
            raise NotFound(f"schema {schema!r} does not exist in that database (create schema {schema} first)",
                           field=field, code="no_schema")
        if field == "from" and conn.execute("select 1 from information_schema.tables where table_schema = %s "
                                            "and table_name = %s", (schema, table)).fetchone() is None:
            raise NotFound(f"no event store in schema {schema!r} (no table {table}): is the #schema missing?",
                           field=field)


def notes(log: CommittedLog, *, after: int = 0, upto: int | None = None, count: int | None = None,
          batch: int = 5000) -> Iterator[Note]:
    """The log's notifications after ``after``: up to position ``upto`` and/or the first ``count`` of them."""
    given = 0
    while count is None or given < count:
        page = log.read_raw(after, batch if count is None else min(batch, count - given))
        for note in page:
            if upto is not None and note.id > upto:
                return
            yield note
        if not page:
            return
        given += len(page)
        after = page[-1].id


def migrate(source: LedgerStore, target: LedgerStore, *, batch: int = 5000, resume: bool = False,
            progress: Callable[[int], None] | None = None) -> Migration:
    """Copy every event of ``source`` into ``target`` (empty, or a verified prefix with ``resume``) and verify."""
    source_log, target_log = CommittedLog(source), CommittedLog(target)
    try:
        already, after = _start(source_log, target_log, resume, batch)
        upto = source_log.head()
        pending: list[StoredEvent] = []
        for note in notes(source_log, after=after, upto=upto, batch=batch):
            pending.append(StoredEvent(originator_id=note.originator_id, originator_version=note.originator_version,
                                       topic=note.topic, state=note.state))
            if len(pending) >= batch:
                _write(target, pending, progress)
                pending = []
        _write(target, pending, progress)
        copied, target_head = content_chain(notes(target_log, batch=batch))
        count, source_head = content_chain(notes(source_log, upto=upto, batch=batch))
        return Migration(copied, source_head, target_head, count == copied and source_head == target_head,
                         resumed_after=already)
    finally:
        source_log.close()
        target_log.close()


def _start(source_log: CommittedLog, target_log: CommittedLog, resume: bool, batch: int) -> tuple[int, int]:
    """(events already in the target, source position to copy after)."""
    if not target_log.head():
        return 0, 0
    if not resume:
        raise Conflict("the target store is not empty (use --resume to continue an interrupted copy)",
                       field="to", code="target_not_empty")
    have, target_head = content_chain(notes(target_log, batch=batch))
    prefix = list(notes(source_log, count=have, batch=batch))
    count, source_head = content_chain(prefix)
    if count != have or source_head != target_head:
        raise Conflict("the target is not a copy of the beginning of the source", field="to",
                       code="target_not_a_prefix")
    return have, prefix[-1].id if prefix else 0


def _write(target: LedgerStore, events: list[StoredEvent], progress: Callable[[int], None] | None) -> None:
    if events:
        target.recorder.insert_events(events)
        if progress is not None:
            progress(len(events))


def run(source_spec: str, target_spec: str, *, resume: bool = False,
        progress: Callable[[int], None] | None = None) -> Migration:
    """Open both stores by spec, migrate, close."""
    source = LedgerStore(settings_for(source_spec, "from"))
    try:
        target = LedgerStore(settings_for(target_spec, "to"))
    except LedgerError:
        source.close()
        raise
    try:
        return migrate(source, target, resume=resume, progress=progress)
    finally:
        source.close()
        target.close()
