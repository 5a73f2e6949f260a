"""eventsourcing's PostgreSQL factory, with the DSN's other libpq parameters on every pooled connection.

The library builds its pool from host, port, database, user and password only; ``sslmode``, ``sslrootcert``,
``application_name`` ... of ``LEDGER_POSTGRES_DSN`` would otherwise be dropped, and ``sslmode=require`` would
connect in the clear. They travel in the store's own environment (never ``os.environ``, which every other
store and connection of the process would share) and are added to the pool's connection arguments before the
pool opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from eventsourcing import postgres as es_postgres

from ledger.errors import LedgerError

if TYPE_CHECKING:
    import psycopg
    from eventsourcing.utils import Environment
from ledger.store.postgres_dsn import postgres_connection_arguments

#: Key of the JSON object of extra libpq parameters in the environment given to the store.
LIBPQ_KEY = "LEDGER_LIBPQ_PARAMETERS"


class Factory(es_postgres.PostgresFactory):
    """PostgresFactory whose pool connects with the extra libpq parameters as well."""

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        extra: dict[str, str] = msgspec.json.decode(self.env.get(LIBPQ_KEY) or "{}")
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)


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
