"""eventsourcing's PostgreSQL factory, with the DSN's other libpq parameters on every pooled connection, and
its application recorder sealing every event in the transaction that inserts it.

The library builds its pool from host, port, database, user and password only; ``sslmode``, ``sslrootcert``,
``application_name`` ... of ``LEDGER_POSTGRES_DSN`` would otherwise be dropped, and ``sslmode=require`` would
connect in the clear. They travel in the store's own environment (never ``os.environ``, which every other
store and connection of the process would share) and are added to the pool's connection arguments before the
pool opens.

:class:`SealingRecorder` writes the seal of every inserted event (``ledger.store.seals``: the same keyed MAC as
on SQLite, computed here in Python from the rows and their notification ids) into ``event_seals`` before the
insert transaction commits, so the event and its seal are committed together or not at all; a group commit's
one transaction seals all its events. The keyed ``seal_meta.sealed_from`` record is written as on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from psycopg.sql import SQL, Identifier

from ledger.errors import LedgerError
from ledger.store import seals
from ledger.store.sqlite_durable import SEAL_KEY

if TYPE_CHECKING:
    import psycopg
    from eventsourcing.utils import Environment
    from psycopg.rows import DictRow
from ledger.store.postgres_dsn import postgres_connection_arguments

#: Key of the JSON object of extra libpq parameters in the environment given to the store.
LIBPQ_KEY = "LEDGER_LIBPQ_PARAMETERS"


class SealingRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's application recorder, inserting the seals of the events in the same transaction."""

    #: The ledger's secret, which keys the seals (None: events are written unsealed, as by an older version).
    seal_key: bytes | None = None

    def _fetch_ids_after_insert_events(self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent],
                                       **kwargs: object) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if self.seal_key is not None and ids:
            key = self.seal_key
            marks = [seals.seal(key, e.originator_id, e.originator_version, e.topic, e.state) for e in stored_events]
            curs.execute(SQL("INSERT INTO {}.event_seals SELECT * FROM unnest(%s::bigint[], %s::text[])").format(
                Identifier(self.datastore.schema)), (list(ids), marks))
        return ids

    def create_seals(self, key: bytes) -> None:
        """The seals tables and, when the store first gets them, the keyed record of the first position sealed
        (idempotent; never rewritten: a deleted record stays missing)."""
        schema = Identifier(self.datastore.schema)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.datastore.schema}.event_seals",))
            curs.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                         "AND table_name IN ('event_seals', 'seal_meta')", (self.datastore.schema,))
            had = {str(row["table_name"]) for row in curs.fetchall()}
            curs.execute(SQL("CREATE TABLE IF NOT EXISTS {}.event_seals (notification_id bigint PRIMARY KEY, "
                             "seal text NOT NULL)").format(schema))
            curs.execute(SQL("CREATE TABLE IF NOT EXISTS {}.seal_meta (name text PRIMARY KEY, value bigint NOT NULL, "
                             "mac text NOT NULL)").format(schema))
            if "seal_meta" in had:
                return
            events = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
            curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))  # no insert in between
            curs.execute(SQL("SELECT coalesce((SELECT min(notification_id) FROM {}.event_seals), "
                             "(SELECT coalesce(max(notification_id), 0) + 1 FROM {})) AS first").format(schema, events))
            row = curs.fetchone()
            first = int(row["first"]) if row else 1
            curs.execute(SQL("INSERT INTO {}.seal_meta VALUES ('sealed_from', %s, %s) ON CONFLICT DO NOTHING")
                         .format(schema), (first, seals.marker(key, first)))


class PostgresSealBook(seals.SealBook):
    """The seals of one PostgreSQL store, read through the store's own pool."""

    def __init__(self, recorder: es_postgres.PostgresApplicationRecorder, key: bytes) -> None:
        self.key = key
        self.datastore = recorder.datastore
        self.first = self._first()

    def _one(self, query: SQL, params: tuple[object, ...] = ()) -> DictRow | None:
        with self.datastore.get_connection() as conn:
            row: DictRow | None = conn.execute(query.format(Identifier(self.datastore.schema)), params).fetchone()
        return row

    def _tables(self) -> set[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                (self.datastore.schema,)).fetchall()
        return {str(row["table_name"]) for row in rows}

    def _sealed_from(self) -> tuple[int, str] | None:
        row = self._one(SQL("SELECT value, mac FROM {}.seal_meta WHERE name = 'sealed_from'"))
        return (row["value"], row["mac"]) if row is not None else None

    def _seal(self, position: int) -> str | None:
        row = self._one(SQL("SELECT seal FROM {}.event_seals WHERE notification_id = %s"), (position,))
        return str(row["seal"]) if row is not None else None

    def close(self) -> None:
        """Connections belong to the store's pool."""


class Factory(es_postgres.PostgresFactory):
    """PostgresFactory whose pool connects with the extra libpq parameters as well, and whose application
    recorder seals the events it inserts with the key given in the environment (``LEDGER_SEAL_KEY``)."""

    application_recorder_class = SealingRecorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        extra: dict[str, str] = msgspec.json.decode(self.env.get(LIBPQ_KEY) or "{}")
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)

    def application_recorder(self) -> ApplicationRecorder:
        """The sealing recorder, keyed, with its seals tables (when the environment creates tables)."""
        recorder = super().application_recorder()
        key = self.env.get(SEAL_KEY)
        if key and isinstance(recorder, SealingRecorder):
            recorder.seal_key = bytes.fromhex(key)
            self.datastore.enable_db_functions = False  # its insert function would bypass the seals
            if self.env_create_table():
                recorder.create_seals(recorder.seal_key)
        return recorder


def connect_directly(dsn: str, field: str = "LEDGER_POSTGRES_DSN") -> psycopg.Connection[tuple[object, ...]]:
    """A psycopg connection (autocommit) to the server, database and role the store of ``dsn`` uses, with its
    libpq parameters (10 s to connect unless the DSN says otherwise); a failure is ``unreachable`` naming
    ``field``, with libpq's own first line (refused, unknown database or role, TLS required ...)."""
    import psycopg

    arguments = postgres_connection_arguments(dsn)
    arguments.setdefault("connect_timeout", "10")
    try:
        return psycopg.connect(psycopg.conninfo.make_conninfo("", **arguments), autocommit=True)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LedgerError(f"cannot connect to PostgreSQL: {reason}", field=field, code="unreachable") from None
