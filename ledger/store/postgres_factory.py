"""eventsourcing's PostgreSQL factory, with the DSN's other libpq parameters on every pooled connection.

The library builds its pool from host, port, database, user and password only; ``sslmode``, ``sslrootcert``,
``application_name`` ... of ``LEDGER_POSTGRES_DSN`` would otherwise be dropped, and ``sslmode=require`` would
connect in the clear. They travel in the store's own environment (never ``os.environ``, which every other
store and connection of the process would share) and are added to the pool's connection arguments before the
pool opens.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing import postgres as es_postgres

#: Key of the JSON object of extra libpq parameters in the environment given to the store.
LIBPQ_KEY = "LEDGER_LIBPQ_PARAMETERS"


class Factory(es_postgres.PostgresFactory):
    """PostgresFactory whose pool connects with the extra libpq parameters as well."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        extra: dict[str, str] = msgspec.json.decode(self.env.get(LIBPQ_KEY) or "{}")
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)
