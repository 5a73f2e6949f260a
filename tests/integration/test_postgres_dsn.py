"""A DSN's libpq parameters reach libpq: ``sslmode=require`` against the local server (no TLS) fails, as psql
does, instead of connecting in the clear."""

from __future__ import annotations

import os

import pytest

from ledger.config import LIBPQ_ENVIRONMENT, postgres_parameters


def test_sslmode_reaches_libpq(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against the local server, which has no TLS: ``sslmode=require`` must fail, as psql would."""
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
    import psycopg

    where, extra = postgres_parameters(dsn + ("&" if "?" in dsn else "?") + "sslmode=require")
    for name in LIBPQ_ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    kwargs = {k.removeprefix("POSTGRES_").lower(): v for k, v in where.items()}
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        psycopg.connect(**kwargs, connect_timeout=5).close()
