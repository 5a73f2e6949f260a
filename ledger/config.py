"""Configuration from environment variables, with embedded defaults that need no set-up.

| variable | default | meaning |
| --- | --- | --- |
| LEDGER_HOME | var (or the folder of LEDGER_DB / --db) | folder for the default SQLite files, mail, secret, nats |
| LEDGER_DB | $LEDGER_HOME/ledger.db | SQLite event store file |
| LEDGER_STORE | sqlite | sqlite or postgres |
| LEDGER_POSTGRES_DSN | (none) | PostgreSQL DSN (URL or key=value; sslmode etc. honoured) when LEDGER_STORE=postgres |
| LEDGER_POSTGRES_SCHEMA | (the user's default) | PostgreSQL schema holding the event tables |
| LEDGER_TIMEZONE | America/New_York | business time zone for dates and "last 30 days" |
| LEDGER_SNAPSHOT_INTERVAL | 100 | snapshot an Account every N events |
| LEDGER_SECRET | (file $LEDGER_HOME/secret) | HMAC secret for invitation and cart links |
| LEDGER_GATEWAY_DB | $LEDGER_HOME/gateway.db | the gateway simulator's state |
| LEDGER_LOG_FORMAT | console on a TTY, else json | structlog renderer |
| LEDGER_GROUP_COMMIT | 0 | 1: write concurrent commands in one transaction (group commit) |
| LEDGER_AGGREGATE_CACHE | 1000 | accounts kept in memory between commands (0 disables) |
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ledger.errors import ValidationError


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the composition root needs to wire the service."""

    home: Path = Path("var")
    db_path: Path = Path("var/ledger.db")
    store: str = "sqlite"
    postgres_dsn: str = ""
    postgres_schema: str = ""
    timezone: str = "America/New_York"
    snapshot_interval: int = 100
    gateway_db: Path = Path("var/gateway.db")
    log_format: str = "auto"
    group_commit: bool = False
    aggregate_cache: int = 1000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); keyword overrides win (CLI flags)."""
        env = dict(os.environ if environ is None else environ)
        chosen_db = overrides.get("db_path") or env.get("LEDGER_DB")
        if "LEDGER_HOME" in env or overrides.get("home") is not None or not chosen_db:
            home = Path(str(overrides.get("home") or env.get("LEDGER_HOME", "var")))
        else:  # --db elsewhere: keep its projections, secret and gateway state beside it, never mixed with var/
            home = Path(str(chosen_db)).parent
        values: dict[str, object] = {
            "home": home,
            "db_path": Path(env.get("LEDGER_DB", str(home / "ledger.db"))),
            "store": env.get("LEDGER_STORE", "sqlite"),
            "postgres_dsn": env.get("LEDGER_POSTGRES_DSN", ""),
            "postgres_schema": env.get("LEDGER_POSTGRES_SCHEMA", ""),
            "timezone": env.get("LEDGER_TIMEZONE", "America/New_York"),
            "snapshot_interval": _int(env.get("LEDGER_SNAPSHOT_INTERVAL", "100"), "LEDGER_SNAPSHOT_INTERVAL"),
            "gateway_db": Path(env.get("LEDGER_GATEWAY_DB", str(home / "gateway.db"))),
            "log_format": env.get("LEDGER_LOG_FORMAT", "auto"),
            "group_commit": env.get("LEDGER_GROUP_COMMIT", "0") == "1",
            "aggregate_cache": int(env.get("LEDGER_AGGREGATE_CACHE", "1000") or 0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.store not in ("sqlite", "postgres"):
            raise ValidationError("LEDGER_STORE must be sqlite or postgres", field="LEDGER_STORE")
        if settings.store == "postgres" and not settings.postgres_dsn:
            raise ValidationError("LEDGER_POSTGRES_DSN is required with LEDGER_STORE=postgres",
                                  field="LEDGER_POSTGRES_DSN")
        if settings.store == "postgres":
            postgres_parameters(settings.postgres_dsn)  # refused here, before anything connects
        return settings

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this store."""
        cache = {"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache)} if self.aggregate_cache > 0 else {}
        return {**cache, **self._store_env()}

    def _store_env(self) -> dict[str, str]:
        if self.store == "postgres":
            where, extra = postgres_parameters(self.postgres_dsn)
            os.environ.update(extra)  # libpq reads what eventsourcing's datastore does not pass on from here
            schema = {"POSTGRES_SCHEMA": self.postgres_schema} if self.postgres_schema else {}
            return {**schema, **where, "PERSISTENCE_MODULE": "eventsourcing.postgres", "CREATE_TABLE": "y"}
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite_durable",
            "SQLITE_DBNAME": str(self.db_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }


#: libpq parameters a DSN may carry beyond where to connect, each with the environment variable libpq reads it
#: from: eventsourcing's datastore passes host, port, dbname, user and password only, and a parameter dropped
#: silently (``sslmode=require``) would connect in a way the operator did not ask for.
LIBPQ_ENVIRONMENT = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                     "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "channel_binding": "PGCHANNELBINDING",
                     "gssencmode": "PGGSSENCMODE", "connect_timeout": "PGCONNECT_TIMEOUT",
                     "application_name": "PGAPPNAME", "options": "PGOPTIONS",
                     "target_session_attrs": "PGTARGETSESSIONATTRS", "passfile": "PGPASSFILE"}
_WHERE = {"dbname": ("POSTGRES_DBNAME", "postgres"), "host": ("POSTGRES_HOST", "127.0.0.1"),
          "port": ("POSTGRES_PORT", "5432"), "user": ("POSTGRES_USER", "postgres"),
          "password": ("POSTGRES_PASSWORD", "")}


def postgres_parameters(dsn: str) -> tuple[dict[str, str], dict[str, str]]:
    """(eventsourcing's POSTGRES_* settings, libpq environment variables) of a URL or ``key=value`` DSN.

    A parameter that neither can carry is refused, naming it, rather than dropped; the DSN itself is never
    repeated in an error (it may hold a password).
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except ProgrammingError:
        raise ValidationError("LEDGER_POSTGRES_DSN is not a PostgreSQL URL or key=value connection string",
                              field="LEDGER_POSTGRES_DSN", code="invalid_dsn") from None
    unknown = sorted(set(given) - set(_WHERE) - set(LIBPQ_ENVIRONMENT))
    if unknown:
        raise ValidationError(f"LEDGER_POSTGRES_DSN parameter {unknown[0]!r} is not supported (supported: "
                              f"{', '.join(sorted([*_WHERE, *LIBPQ_ENVIRONMENT]))})", field="LEDGER_POSTGRES_DSN",
                              code="invalid_dsn")
    where = {name: given.get(key, default) for key, (name, default) in _WHERE.items()}
    return where, {LIBPQ_ENVIRONMENT[k]: v for k, v in given.items() if k in LIBPQ_ENVIRONMENT}


def _int(text: str, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(f"{field} must be an integer", field=field) from None
    if value < 1:
        raise ValidationError(f"{field} must be positive", field=field)
    return value
