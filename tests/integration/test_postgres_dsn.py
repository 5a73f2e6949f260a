"""A DSN's libpq parameters reach the store's connections: ``sslmode=require`` against the local server (no TLS)
fails, as psql does, instead of connecting in the clear; and they stay with that store (another store of the
same process connects as its own DSN says)."""

from __future__ import annotations

import os

import pytest

from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.store.application import LedgerStore


def _store(dsn: str) -> LedgerStore:
    return LedgerStore(Settings.from_env({}, store="postgres", postgres_dsn=dsn),
                       env={"POSTGRES_CONNECT_TIMEOUT": "2"})


def test_sslmode_reaches_the_store_and_only_that_store() -> None:
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
    with pytest.raises(LedgerError, match="SSL"):  # libpq's own reason, not the pool's timeout
        _store(dsn + ("&" if "?" in dsn else "?") + "sslmode=require")
    plain = _store(dsn)  # the first store's sslmode did not leak into this one
    plain.recorder.max_notification_id()  # connects (it raised with the SSL requirement leaked)
    plain.close()


def test_a_server_that_cannot_be_reached_is_a_typed_error() -> None:
    with pytest.raises(LedgerError) as refused:
        _store("postgresql://postgres@127.0.0.1:1/test")
    assert (refused.value.code, refused.value.field) == ("unreachable", "LEDGER_POSTGRES_DSN")
