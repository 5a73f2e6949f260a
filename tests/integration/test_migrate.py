"""``ledger migrate --from sqlite:... --to postgres:...``: a whole store copied and verified."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ledger.commands import messages as m
from ledger.config import Settings
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore
from tests.ledger_fixtures import make_ledger

pytestmark = pytest.mark.postgres


def test_migrate_sqlite_to_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    ledger = make_ledger(tmp_path, snapshot_interval=3)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    for n in range(10):
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"I{n}", amount="5.00", date="2026-09-01",
                                             due="2026-09-30"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="22.00", method="card",
                                          token="tok_visa", distribute=True))
    expected = ledger.store.account(account_uuid("ACC1")).state
    ledger.close()
    schema = "t_migrate_test"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {schema} cascade")
        conn.execute(f"create schema {schema}")
    try:
        target = f"postgres:{postgres_dsn}#{schema}"
        done = subprocess.run([sys.executable, "-m", "ledger", "--json", "migrate", "--from",
                               f"sqlite:{tmp_path / 'ledger.db'}", "--to", target], capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert '"verified":true' in done.stdout
        copy = LedgerStore(Settings.from_env({}, store="postgres", postgres_dsn=postgres_dsn, postgres_schema=schema))
        assert copy.account(account_uuid("ACC1")).state == expected
        copy.close()
        again = subprocess.run([sys.executable, "-m", "ledger", "migrate", "--from", f"sqlite:{tmp_path / 'ledger.db'}",
                                "--to", target], capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == 2 and "target_not_empty" in again.stderr
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"drop schema if exists {schema} cascade")
