"""A PostgreSQL DSN (LEDGER_POSTGRES_DSN) as eventsourcing's settings and psycopg's connection arguments."""

from __future__ import annotations

from ledger.errors import ValidationError

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

