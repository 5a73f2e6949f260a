"""Snapshot housekeeping: only the newest snapshot of an Account is kept.

eventsourcing appends a snapshot every ``LEDGER_SNAPSHOT_INTERVAL`` events and never removes one, so a
customer with a long history accumulates snapshots of its whole state (a 100k-event account: 1,000 snapshots,
9 GB), and reading the newest one crosses a file that size. A load only ever reads the newest snapshot at or
below the wanted version, and events are never deleted, so older snapshots are removed right after a newer one
is committed: a reader that started on an older one still finds its events; a failed removal only wastes
space until the next snapshot of that account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

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
