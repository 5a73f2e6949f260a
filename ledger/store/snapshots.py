"""Snapshot housekeeping: only the newest snapshot of an Account is kept; ``refresh`` takes missing ones.

eventsourcing appends a snapshot every ``LEDGER_SNAPSHOT_INTERVAL`` events and never removes one, so a
customer with a long history accumulates snapshots of its whole state (a 100k-event account: 1,000 snapshots,
9 GB), and reading the newest one crosses a file that size. A load only ever reads the newest snapshot at or
below the wanted version, and events are never deleted, so older snapshots are removed right after a newer one
is committed: a reader that started on an older one still finds its events; a failed removal only wastes
space until the next snapshot of that account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteAggregateRecorder

if TYPE_CHECKING:
    from eventsourcing.persistence import EventStore

    from ledger.aggregates import Account
    from ledger.config import Settings


class SnapshotStore(Protocol):
    """What :func:`refresh` uses of a ``LedgerStore`` (which uses :func:`prune_older` from here)."""

    @property
    def recorder(self) -> ApplicationRecorder: ...
    @property
    def snapshots(self) -> EventStore[UUID] | None: ...
    @property
    def settings(self) -> Settings: ...

    def account(self, aggregate_id: UUID, version: int | None = None) -> Account:
        """The Account as of ``version`` (default: now)."""
        ...

    def encode_snapshots(self, accounts: Iterable[Account]) -> list[StoredEvent]:
        """Snapshots of ``accounts``, encoded."""
        ...

    def write_snapshots(self, records: list[StoredEvent]) -> None:
        """Write encoded snapshots, removing those they supersede."""
        ...


def newest_versions(records: Sequence[StoredEvent]) -> dict[UUID, int]:
    """The newest snapshot version written per account."""
    newest: dict[UUID, int] = {}
    for record in records:
        originator = UUID(str(record.originator_id))
        newest[originator] = max(newest.get(originator, 0), record.originator_version)
    return newest


def prune_older(recorder: AggregateRecorder, records: Sequence[StoredEvent]) -> None:
    """Delete the snapshots older than the ones just written in ``records`` (SQLite or PostgreSQL recorder)."""
    newest = newest_versions(records)
    if not newest:
        return
    if not isinstance(recorder, SQLiteAggregateRecorder):  # PostgreSQL: an autocommit psycopg connection
        from eventsourcing.postgres import PostgresAggregateRecorder
        from psycopg.sql import SQL, Identifier

        assert isinstance(recorder, PostgresAggregateRecorder)
        table, datastore = recorder.events_table_name, recorder.datastore

        statement = SQL("DELETE FROM {schema}.{table} WHERE originator_id = %s AND originator_version < %s").format(
            schema=Identifier(datastore.schema), table=Identifier(table))
        with datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.executemany(statement, list(newest.items()))
        return
    with recorder.datastore.transaction(commit=True) as cursor:  # SQLite keeps snapshot originators as hex
        cursor.executemany(f"DELETE FROM {recorder.events_table_name} WHERE originator_id = ? "
                           "AND originator_version < ?",
                           [(originator.hex, version) for originator, version in newest.items()])


class Refreshed(msgspec.Struct, frozen=True):
    """What ``ledger snapshots refresh`` did."""

    accounts: int
    snapshots_written: int
    events_replayed: int


def _uncovered(store: SnapshotStore, account: UUID, current_topic: str) -> tuple[int, int]:
    """(the account's version, the version of its newest snapshot of the current format or 0)."""
    newest = store.snapshots.recorder.select_events(account, desc=True, limit=1) if store.snapshots else []
    covered = newest[0].originator_version if newest and newest[0].topic == current_topic else 0
    last = store.recorder.select_events(account, desc=True, limit=1)
    return (last[0].originator_version if last else 0), covered


def refresh(store: SnapshotStore, *, lag: int | None = None,
            progress: Callable[[int], None] | None = None) -> Refreshed:
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
            account = UUID(str(note.originator_id))
            version, covered = _uncovered(store, account, current_topic)
            if version - covered >= threshold:
                store.write_snapshots(store.encode_snapshots([store.account(account)]))
                written += 1
                replayed += version - covered
        if progress is not None:
            progress(len(notes))
    return Refreshed(accounts, written, replayed)
