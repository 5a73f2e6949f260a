"""Snapshot housekeeping: only the newest snapshot of an Account is kept; ``refresh`` takes missing ones.

eventsourcing appends a snapshot every ``LEDGER_SNAPSHOT_INTERVAL`` events and never removes one, so a
customer with a long history accumulates snapshots of its whole state (a 100k-event account: 1,000 snapshots,
9 GB), and reading the newest one crosses a file that size. A load only ever reads the newest snapshot at or
below the wanted version, and events are never deleted, so older snapshots are removed right after a newer one
is committed: a reader that started on an older one still finds its events; a failed removal only wastes
space until the next snapshot of that account.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteAggregateRecorder


def newest_versions(records: Sequence[StoredEvent]) -> dict[UUID, int]:
    """The newest snapshot version written per account."""
    newest: dict[UUID, int] = {}
    for record in records:
        originator = UUID(str(record.originator_id))
        newest[originator] = max(newest.get(originator, 0), record.originator_version)
    return newest


def prune_older(recorder: Any, records: Sequence[StoredEvent]) -> None:
    """Delete the snapshots older than the ones just written in ``records`` (SQLite or PostgreSQL recorder)."""
    newest = newest_versions(records)
    if not newest:
        return
    table = recorder.events_table_name
    datastore = recorder.datastore
    if not isinstance(recorder, SQLiteAggregateRecorder):  # PostgreSQL: an autocommit psycopg connection
        from psycopg.sql import SQL, Identifier

        statement = SQL("DELETE FROM {schema}.{table} WHERE originator_id = %s AND originator_version < %s").format(
            schema=Identifier(datastore.schema), table=Identifier(table))
        with datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.executemany(statement, list(newest.items()))
        return
    with datastore.transaction(commit=True) as cursor:  # SQLite keeps snapshot originators as hex
        cursor.executemany(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version < ?",
                           [(originator.hex, version) for originator, version in newest.items()])


class Refreshed(msgspec.Struct, frozen=True):
    """What ``ledger snapshots refresh`` did."""

    accounts: int
    snapshots_written: int
    events_replayed: int


def _uncovered(store: Any, account: UUID, current_topic: str) -> tuple[int, int]:
    """(the account's version, the version of its newest snapshot of the current format or 0)."""
    newest = store.snapshots.recorder.select_events(account, desc=True, limit=1)
    covered = newest[0].originator_version if newest and newest[0].topic == current_topic else 0
    last = store.recorder.select_events(account, desc=True, limit=1)
    return (last[0].originator_version if last else 0), covered


def refresh(store: Any, *, lag: int | None = None, progress: Callable[[int], None] | None = None) -> Refreshed:
    """Snapshot every Account with ``lag`` (default: the snapshot interval) or more events after its newest
    snapshot of the current format: after an upgrade that bumped ``SNAPSHOT_VERSION``, every long history
    would otherwise be replayed in full by each cold load until its next snapshot. Accounts are found from
    their AccountOpened events in the log; nothing is decoded for an account that needs no snapshot."""
    from ledger.aggregates.events import AccountOpened
    from ledger.aggregates.root import AccountSnapshot
    from ledger.store import topics

    current_topic = topics.topic_of(AccountSnapshot)
    opened_topic = topics.topic_of(AccountOpened)
    threshold = lag or store.settings.snapshot_interval
    accounts = written = replayed = 0
    after = 0
    while True:
        notes = store.recorder.select_notifications(start=after, limit=1000, topics=[opened_topic],
                                                    inclusive_of_start=False)
        if not notes:
            break
        after = notes[-1].id
        for note in notes:
            accounts += 1
            version, covered = _uncovered(store, note.originator_id, current_topic)
            if version - covered >= threshold:
                store.write_snapshots(store.encode_snapshots([store.account(note.originator_id)]))
                written += 1
                replayed += version - covered
        if progress is not None:
            progress(len(notes))
    return Refreshed(accounts, written, replayed)
