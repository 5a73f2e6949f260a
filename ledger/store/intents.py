"""Gateway intents and the reconciliation list: two small tables in the ledger's own store, beside its log.

An intent is written, in its own committed transaction, before the ledger asks the gateway to move money (a
charge, a hold, a capture, a refund), and removed once what the gateway did is recorded in the log (or the
gateway declined). So a store that refuses writes refuses the command before the card is charged, and a crash
or a lost answer between the gateway's act and the ledger's write leaves a row that ``ledger gateway
reconcile`` resolves. An intent holds the account, what was asked, the gateway's idempotency key, the amount,
its target and the command without its token: never a card number or token.

Why a table and not ``...Requested`` events: an intent is bookkeeping of the ledger's own conversation with
the gateway, resolved minutes later and of no use afterwards; in the immutable log every attempt (also the
declined and the refused ones) would stay for ever, be replayed by every read model and published to every
subscriber. The outcome itself (the payment, the hold) is what the log records.

The reconciliation list holds what ``reconcile`` could not decide by itself, with what the operator does; the
released holds are those ``reconcile`` voided although their command may be retried (the gateway would answer
the retry with the hold it no longer holds, so the command refuses it instead of recording a dead hold).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.ports.clock import local_text

_TABLES = (
    "create table if not exists {schema}gateway_intents (key text primary key, account text not null, "
    "kind text not null, amount bigint not null, target text not null, created_at text not null, "
    "command text not null default '')",
    "create table if not exists {schema}gateway_reconciliation (transaction_id text primary key, "
    "key text not null, account text not null, kind text not null, amount bigint not null, status text not null, "
    "found_at text not null, action text not null)",
    "create table if not exists {schema}gateway_released (key text primary key, transaction_id text not null, "
    "released_at text not null)",
)


class Intent(msgspec.Struct, frozen=True):
    """What the ledger is about to ask the gateway: ``kind`` charge, authorization, capture or refund under
    the gateway's idempotency ``key``, for ``account`` (its business id) and ``target`` (a payment, an
    authorization, or the transaction refunded or captured)."""

    key: str
    account: str
    kind: str
    amount: int
    target: str
    created_at: datetime
    #: The command that asks, as JSON without its token (``{"type": ..., "body": ...}``), for reconciliation
    #: to run it again against the gateway's recorded answer; "" when there is none.
    command: str = ""


class Flagged(msgspec.Struct, frozen=True):
    """A gateway transaction reconciliation could not settle by itself, and what the operator does."""

    transaction_id: str
    key: str
    account: str
    kind: str
    amount: int
    status: str
    found_at: datetime
    action: str


class _Cursor(Protocol):
    """What the book uses of a datastore's cursor (SQLite's or psycopg's: rows as tuples or as dicts)."""

    def execute(self, statement: str, params: Sequence[object] = ..., /) -> object:
        """Run one statement."""

    def fetchall(self) -> list[Any]:
        """The rows of the last statement."""


class _Datastore(Protocol):
    """What the book uses of the recorder's datastore (eventsourcing's SQLite or PostgreSQL datastore)."""

    schema: str

    def transaction(self, *, commit: bool) -> AbstractContextManager[_Cursor]:
        """A cursor in one transaction."""


class GatewayBook:
    """The intents and the reconciliation list, in the store of ``recorder`` (SQLite or PostgreSQL)."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.datastore: _Datastore = recorder.datastore  # type: ignore[attr-defined]
        self.sqlite = isinstance(recorder, SQLiteApplicationRecorder)
        self.schema = "" if self.sqlite else f'"{self.datastore.schema}".'
        with self._cursor() as cursor:
            for statement in _TABLES:
                cursor.execute(statement.format(schema=self.schema))

    @contextmanager
    def _cursor(self) -> Iterator[_Cursor]:
        """A cursor in one committed write transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        statement = statement.replace("{schema}", self.schema)
        return statement.replace("%s", "?") if self.sqlite else statement

    def intend(self, intent: Intent) -> None:
        """Write ``intent`` (committed when this returns; an intent already there under its key stays as it
        is). Raises when the store refuses writes: the gateway must then not be asked."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("insert into {schema}gateway_intents values (%s, %s, %s, %s, %s, %s, %s) "
                                     "on conflict (key) do nothing"),
                           (intent.key, intent.account, intent.kind, intent.amount, intent.target,
                            intent.created_at.isoformat(), intent.command))

    def resolve(self, keys: list[str]) -> None:
        """Remove the intents under ``keys``: what the gateway did for them is recorded, or nothing was done."""
        if keys:
            with self._cursor() as cursor:
                for key in keys:
                    cursor.execute(self._sql("delete from {schema}gateway_intents where key = %s"), (key,))

    def intents(self) -> list[Intent]:
        """Every unresolved intent, oldest first."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("select key, account, kind, amount, target, created_at, command "
                                     "from {schema}gateway_intents order by created_at, key"))
            rows = cursor.fetchall()
        return [Intent(key=v[0], account=v[1], kind=v[2], amount=int(v[3]), target=v[4],
                       created_at=datetime.fromisoformat(v[5]), command=v[6]) for v in map(_values, rows)]

    def release(self, key: str, transaction_id: str, at: datetime) -> None:
        """Note that the hold ``transaction_id``, placed under ``key``, was voided by reconciliation."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("insert into {schema}gateway_released values (%s, %s, %s) "
                                     "on conflict (key) do nothing"), (key, transaction_id, at.isoformat()))

    def released(self, key: str) -> str | None:
        """The hold placed under ``key`` that reconciliation voided, or None."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("select transaction_id from {schema}gateway_released where key = %s"), (key,))
            rows = cursor.fetchall()
        return str(_values(rows[0])[0]) if rows else None

    def flag(self, item: Flagged) -> bool:
        """Put ``item`` on the reconciliation list; False when its transaction is already there."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("insert into {schema}gateway_reconciliation values "
                                     "(%s, %s, %s, %s, %s, %s, %s, %s) on conflict (transaction_id) do nothing "
                                     "returning transaction_id"),
                           (item.transaction_id, item.key, item.account, item.kind, item.amount, item.status,
                            item.found_at.isoformat(), item.action))
            return bool(cursor.fetchall())

    def flagged(self) -> list[Flagged]:
        """The reconciliation list, oldest first."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("select * from {schema}gateway_reconciliation order by found_at, "
                                     "transaction_id"))
            rows = cursor.fetchall()
        return [Flagged(transaction_id=v[0], key=v[1], account=v[2], kind=v[3], amount=int(v[4]), status=v[5],
                        found_at=datetime.fromisoformat(v[6]), action=v[7]) for v in map(_values, rows)]

    def board(self, zone: ZoneInfo) -> list[dict[str, object]]:
        """The reconciliation list as the CSR dashboard shows it (``amount`` in minor units, times in ``zone``)."""
        return [{**msgspec.structs.asdict(item), "found_at": local_text(item.found_at, zone)}
                for item in self.flagged()]

    def unflag(self, transaction_id: str) -> bool:
        """Take a transaction off the reconciliation list once the operator settled it; False if absent."""
        with self._cursor() as cursor:
            cursor.execute(self._sql("delete from {schema}gateway_reconciliation where transaction_id = %s "
                                     "returning transaction_id"), (transaction_id,))
            return bool(cursor.fetchall())


def _values(row: Any) -> list[Any]:
    """A row's values in column order (SQLite rows and psycopg's dict rows alike)."""
    return list(row.values()) if isinstance(row, dict) else list(row)
