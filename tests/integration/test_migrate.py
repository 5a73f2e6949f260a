"""``ledger migrate --from sqlite:... --to postgres:...`` (and back): a whole store copied and verified by the
content hash chain; an interrupted copy resumed; a target that is not a prefix refused."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.commands import messages as m
from ledger.config import Settings
from ledger.errors import Conflict, LedgerError, NotFound
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore
from ledger.store.migrate import migrate, run
from tests.ledger_fixtures import make_ledger

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema(postgres_dsn: str) -> Iterator[str]:
    """An empty schema of its own, dropped afterwards."""
    name = f"t_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"create schema {name}")
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {name} cascade")


def _history(folder: Path) -> tuple[object, int]:
    """An account's history in ``folder``: (its final state, the number of stored events)."""
    ledger = make_ledger(folder, snapshot_interval=3)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    for n in range(10):
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"I{n}", amount="5.00", date="2026-09-01",
                                             due="2026-09-30"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="22.00", method="card",
                                          token="tok_visa", distribute=True))
    state = ledger.store.account(account_uuid("ACC1")).state
    count = int(ledger.store.recorder.max_notification_id() or 0)
    ledger.close()
    return state, count


def _pg(dsn: str, schema: str) -> LedgerStore:
    return LedgerStore(Settings.from_env({}, store="postgres", postgres_dsn=dsn, postgres_schema=schema))


def test_migrate_sqlite_to_postgres_with_the_cli(tmp_path: Path, postgres_dsn: str, schema: str) -> None:
    expected, count = _history(tmp_path)
    target = f"postgres:{postgres_dsn}#{schema}"
    command = [sys.executable, "-m", "ledger", "--json", "migrate", "--from", f"sqlite:{tmp_path / 'ledger.db'}",
               "--to", target]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert '"verified":true' in done.stdout and f'"events":{count}' in done.stdout
    copy = _pg(postgres_dsn, schema)
    assert copy.account(account_uuid("ACC1")).state == expected
    copy.close()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2 and "target_not_empty" in again.stderr


def test_an_interrupted_copy_is_resumed_and_verified(tmp_path: Path, postgres_dsn: str, schema: str) -> None:
    expected, count = _history(tmp_path)
    source = LedgerStore(Settings.from_env({}, db_path=tmp_path / "ledger.db"))
    target = _pg(postgres_dsn, schema)
    first = source.recorder.select_notifications(start=1, limit=5)
    target.recorder.insert_events(list(first))  # a copy that stopped after five events
    result = migrate(source, target, resume=True, batch=4)
    assert result.verified and result.events == count and result.resumed_after == 5
    assert target.account(account_uuid("ACC1")).state == expected
    source.close()
    target.close()


def test_a_target_that_is_not_a_prefix_is_refused(tmp_path: Path, postgres_dsn: str, schema: str) -> None:
    _history(tmp_path)
    other = make_ledger(tmp_path / "other")
    other.service.handle(m.OpenAccount(account="ZZZ", email="z@example.com"))
    other.close()
    with pytest.raises(Conflict) as refused:
        run(f"sqlite:{tmp_path / 'other' / 'ledger.db'}", f"postgres:{postgres_dsn}#{schema}")
        run(f"sqlite:{tmp_path / 'ledger.db'}", f"postgres:{postgres_dsn}#{schema}", resume=True)
    assert refused.value.code == "target_not_a_prefix"


def test_postgres_back_to_sqlite(tmp_path: Path, postgres_dsn: str, schema: str) -> None:
    expected, count = _history(tmp_path / "first")
    assert run(f"sqlite:{tmp_path / 'first' / 'ledger.db'}", f"postgres:{postgres_dsn}#{schema}").verified
    back = run(f"postgres:{postgres_dsn}#{schema}", f"sqlite:{tmp_path / 'back.db'}")
    assert back.verified and back.events == count
    store = LedgerStore(Settings.from_env({}, db_path=tmp_path / "back.db"))
    assert store.account(account_uuid("ACC1")).state == expected
    store.close()
    with pytest.raises(NotFound):
        run(f"sqlite:{tmp_path / 'missing.db'}", f"sqlite:{tmp_path / 'x.db'}")


def test_a_postgres_source_without_an_event_store_or_a_missing_schema_is_refused_before_anything_is_created(
        tmp_path: Path, postgres_dsn: str, schema: str) -> None:
    _history(tmp_path)
    with pytest.raises(NotFound) as no_store:  # the #schema forgotten: the source is an empty schema
        run(f"postgres:{postgres_dsn}#{schema}", f"sqlite:{tmp_path / 'copy.db'}")
    assert no_store.value.field == "from" and "ledger_events" in str(no_store.value)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:  # and it created no tables there
        assert conn.execute("select count(*) from information_schema.tables where table_schema = %s",
                            (schema,)).fetchone() == (0,)
    with pytest.raises(NotFound) as no_schema:
        run(f"sqlite:{tmp_path / 'ledger.db'}", f"postgres:{postgres_dsn}#{schema}_absent")
    assert (no_schema.value.field, no_schema.value.code) == ("to", "no_schema")


def test_a_postgres_server_that_cannot_be_reached_is_a_one_line_refusal(tmp_path: Path, postgres_dsn: str) -> None:
    _history(tmp_path)
    with pytest.raises(LedgerError) as refused:
        run(f"sqlite:{tmp_path / 'ledger.db'}", "postgres:postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    assert (refused.value.field, refused.value.code) == ("to", "unreachable")
