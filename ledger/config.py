"""Configuration from environment variables, with embedded defaults that need no set-up.

| variable | default | meaning |
| --- | --- | --- |
| LEDGER_HOME | var (or the folder of LEDGER_DB / --db) | folder for the default SQLite files, mail, secret, nats |
| LEDGER_DB | $LEDGER_HOME/ledger.db | SQLite event store file |
| LEDGER_STORE | sqlite | sqlite or postgres |
| LEDGER_POSTGRES_DSN | (none) | PostgreSQL DSN (URL or key=value; sslmode etc. honoured) when LEDGER_STORE=postgres |
| LEDGER_POSTGRES_SCHEMA | public | PostgreSQL schema holding the event tables |
| LEDGER_TIMEZONE | America/New_York | business time zone for dates and "last 30 days" |
| LEDGER_SNAPSHOT_INTERVAL | 100 | snapshot an Account every N events |
| LEDGER_SECRET | (file $LEDGER_HOME/secret) | HMAC secret for invitation and cart links |
| LEDGER_GATEWAY_DB | $LEDGER_HOME/gateway.db | the gateway simulator's state |
| LEDGER_LOG_FORMAT | console on a TTY, else json | structlog renderer |
| LEDGER_GROUP_COMMIT | 0 | 1: write concurrent commands in one transaction (group commit) |
| LEDGER_AGGREGATE_CACHE | 1000 | accounts kept in memory between commands (0 disables) |
| LEDGER_CIPHER_KEY | (file $LEDGER_HOME/cipher.key) | key-encryption key of the per-account keys (base64, 32 bytes) |
| LEDGER_CIPHER_OLD_KEYS | | earlier key-encryption keys, comma-separated, until ``ledger keys rewrap`` |
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
    cipher_key: str = ""
    cipher_old_keys: str = ""

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
            "cipher_key": env.get("LEDGER_CIPHER_KEY", ""),
            "cipher_old_keys": env.get("LEDGER_CIPHER_OLD_KEYS", ""),
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

    def store_description(self) -> str:
        """Where the events are, for log lines: the SQLite file, or PostgreSQL's host, database and schema."""
        if self.store != "postgres":
            return str(self.db_path)
        where, _ = postgres_parameters(self.postgres_dsn)
        schema = f" schema {self.postgres_schema}" if self.postgres_schema else ""
        return f"postgres {where['POSTGRES_HOST']}:{where['POSTGRES_PORT']}/{where['POSTGRES_DBNAME']}{schema}"

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this store."""
        cache = {"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache)} if self.aggregate_cache > 0 else {}
        return {**cache, **self._store_env()}

    def _store_env(self) -> dict[str, str]:
        if self.store == "postgres":
            where, extra = postgres_parameters(self.postgres_dsn)
            schema = {"POSTGRES_SCHEMA": self.postgres_schema} if self.postgres_schema else {}
            return {**schema, **where, "PERSISTENCE_MODULE": "ledger.store.postgres_factory",
                    "LEDGER_LIBPQ_PARAMETERS": msgspec.json.encode(extra).decode(), "CREATE_TABLE": "y"}
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite_durable",
            "SQLITE_DBNAME": str(self.db_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }


#: libpq parameters a DSN may carry beyond where to connect: eventsourcing's pool passes host, port, dbname, user
#: and password only, so ``ledger.store.postgres_factory`` adds these to its connections; any other parameter is
#: refused, since one dropped silently (``sslmode=require``) would connect in a way the operator did not ask for.
LIBPQ_PARAMETERS = frozenset({"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "channel_binding",
                              "gssencmode", "connect_timeout", "application_name", "options",
                              "target_session_attrs", "passfile"})
_WHERE = {"dbname": ("POSTGRES_DBNAME", "postgres"), "host": ("POSTGRES_HOST", "127.0.0.1"),
          "port": ("POSTGRES_PORT", "5432"), "user": ("POSTGRES_USER", "postgres"),
          "password": ("POSTGRES_PASSWORD", "")}


def postgres_parameters(dsn: str) -> tuple[dict[str, str], dict[str, str]]:
    """(eventsourcing's POSTGRES_* settings, the other libpq parameters) of a URL or ``key=value`` DSN.

    Where to connect defaults as the store does (127.0.0.1:5432, user and database ``postgres``). A parameter
    that cannot be passed on is refused, naming it; the DSN itself is never repeated in an error (it may hold
    a password).
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except ProgrammingError:
        raise ValidationError("LEDGER_POSTGRES_DSN is not a PostgreSQL URL or key=value connection string",
                              field="LEDGER_POSTGRES_DSN", code="invalid_dsn") from None
    unknown = sorted(set(given) - set(_WHERE) - LIBPQ_PARAMETERS)
    if unknown:
        raise ValidationError(f"LEDGER_POSTGRES_DSN parameter {unknown[0]!r} is not supported (supported: "
                              f"{', '.join(sorted([*_WHERE, *LIBPQ_PARAMETERS]))})", field="LEDGER_POSTGRES_DSN",
                              code="invalid_dsn")
    where = {name: given.get(key, default) for key, (name, default) in _WHERE.items()}
    return where, {k: v for k, v in given.items() if k in LIBPQ_PARAMETERS}


def postgres_connection_arguments(dsn: str) -> dict[str, str]:
    """Keyword arguments for ``psycopg.connect`` that reach the same server, database and role, with the same
    parameters, as the store opened from ``dsn`` (for the few direct connections: migrate's checks)."""
    where, extra = postgres_parameters(dsn)
    return {**{key: where[name] for key, (name, _) in _WHERE.items()}, **extra}


def _int(text: str, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(f"{field} must be an integer", field=field) from None
    if value < 1:
        raise ValidationError(f"{field} must be positive", field=field)
    return value
