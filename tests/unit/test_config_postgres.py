"""LEDGER_POSTGRES_DSN: every parameter is used or refused, never dropped (sslmode=require must mean TLS)."""

from __future__ import annotations

import os

import pytest

from ledger.config import Settings
from ledger.errors import ValidationError
from ledger.store.postgres_dsn import postgres_connection_arguments, postgres_parameters


def test_a_url_gives_where_to_connect_and_libpq_the_rest() -> None:
    where, extra = postgres_parameters("postgresql://ledger:pw@db.example:6432/books?sslmode=verify-full"
                                       "&application_name=ledger-1")
    assert where == {"POSTGRES_DBNAME": "books", "POSTGRES_HOST": "db.example", "POSTGRES_PORT": "6432",
                     "POSTGRES_USER": "ledger", "POSTGRES_PASSWORD": "pw"}
    assert extra == {"sslmode": "verify-full", "application_name": "ledger-1"}


def test_key_value_pairs_and_defaults() -> None:
    where, extra = postgres_parameters("host=127.0.0.1 dbname=test sslmode=disable")
    assert where == {"POSTGRES_DBNAME": "test", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432",
                     "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": ""}
    assert extra == {"sslmode": "disable"}


@pytest.mark.parametrize("dsn", ["postgresql://u:hunter2@[bad", "postgresql://u:hunter2@h/db?sslmod=require",
                                 "host=h hostaddr=10.0.0.1"])
def test_a_dsn_that_cannot_be_honoured_is_refused_at_settings_without_its_password(dsn: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_DSN": dsn})
    assert (refused.value.field, refused.value.code) == ("LEDGER_POSTGRES_DSN", "invalid_dsn")
    assert "hunter2" not in str(refused.value)


def test_direct_connections_reach_the_store_s_server_database_and_role() -> None:
    """A DSN without user or database means ``postgres`` to the store, so to migrate's checks too (libpq
    alone would take the login name)."""
    assert postgres_connection_arguments("postgresql://127.0.0.1:5433?sslmode=require") == {
        "dbname": "postgres", "host": "127.0.0.1", "port": "5433", "user": "postgres", "password": "",
        "sslmode": "require"}


def test_parameters_travel_in_the_store_environment_not_the_process_environment() -> None:
    settings = Settings.from_env({"LEDGER_STORE": "postgres",
                                  "LEDGER_POSTGRES_DSN": "postgresql://h/db?sslmode=require"})
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "ledger.store.postgres_factory"
    assert env["LEDGER_LIBPQ_PARAMETERS"] == '{"sslmode":"require"}'
    assert "PGSSLMODE" not in os.environ


def test_the_librarys_pool_variables_are_read_once_and_passed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's library is configured from the settings alone (it no longer reads the process environment,
    where it took LEDGER_CIPHER_KEY for its CIPHER_KEY); the pool variables it documents are read here."""
    base = {"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_DSN": "postgresql://h/db"}
    env = Settings.from_env({**base, "POSTGRES_POOL_SIZE": "7", "POSTGRES_LOCK_TIMEOUT": "3"}).eventsourcing_env()
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"], env["POSTGRES_LOCK_TIMEOUT"]) == ("7", "10", "3")
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({**base, "POSTGRES_POOL_SIZE": "0"})
    assert refused.value.field == "POSTGRES_POOL_SIZE"
