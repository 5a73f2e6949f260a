"""LEDGER_POSTGRES_DSN: every parameter is used or refused, never dropped (sslmode=require must mean TLS)."""

from __future__ import annotations

import pytest

from ledger.config import LIBPQ_ENVIRONMENT, Settings, postgres_parameters
from ledger.errors import ValidationError


def test_a_url_gives_where_to_connect_and_libpq_the_rest() -> None:
    where, extra = postgres_parameters("postgresql://ledger:pw@db.example:6432/books?sslmode=verify-full"
                                       "&application_name=ledger-1")
    assert where == {"POSTGRES_DBNAME": "books", "POSTGRES_HOST": "db.example", "POSTGRES_PORT": "6432",
                     "POSTGRES_USER": "ledger", "POSTGRES_PASSWORD": "pw"}
    assert extra == {"PGSSLMODE": "verify-full", "PGAPPNAME": "ledger-1"}


def test_key_value_pairs_and_defaults() -> None:
    where, extra = postgres_parameters("host=127.0.0.1 dbname=test sslmode=disable")
    assert where == {"POSTGRES_DBNAME": "test", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432",
                     "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": ""}
    assert extra == {"PGSSLMODE": "disable"}


@pytest.mark.parametrize("dsn", ["postgresql://u:hunter2@[bad", "postgresql://u:hunter2@h/db?sslmod=require",
                                 "host=h hostaddr=10.0.0.1"])
def test_a_dsn_that_cannot_be_honoured_is_refused_at_settings_without_its_password(dsn: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_DSN": dsn})
    assert (refused.value.field, refused.value.code) == ("LEDGER_POSTGRES_DSN", "invalid_dsn")
    assert "hunter2" not in str(refused.value)


def test_every_libpq_parameter_named_has_its_environment_variable() -> None:
    assert all(name.startswith("PG") and name.isupper() for name in LIBPQ_ENVIRONMENT.values())
