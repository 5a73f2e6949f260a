"""Builders of real ledgers for tests: a real SQLite file, the gateway simulator and a manual clock."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.bootstrap import Ledger, build
from ledger.cli.main import cli
from ledger.commands import validation
from ledger.config import Settings
from ledger.ports.ids import IdGenerator, SequentialIds
from tests.store_backends import schema_name

START = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)


def backend() -> str:
    """The event store the store-dependent tests run on: ``sqlite`` or ``postgres`` (set by the
    ``store_backend`` fixture)."""
    return os.environ.get("LEDGER_TEST_STORE", "sqlite")


def postgres_schema_for(folder: Path) -> str:
    """A schema of its own for the ledger of one test folder (created empty)."""
    import psycopg

    schema = schema_name(folder)
    with psycopg.connect(os.environ["LEDGER_TEST_POSTGRES_DSN"], autocommit=True) as conn:
        conn.execute(f"create schema if not exists {schema}")
    return schema


def store_options(folder: Path) -> dict[str, Any]:
    """``Settings`` keywords putting the event store of ``folder``'s ledger on the backend of the run (none on
    SQLite: ``folder/ledger.db`` by default)."""
    if backend() != "postgres":
        return {}
    return {"store": "postgres", "postgres_dsn": os.environ["LEDGER_TEST_POSTGRES_DSN"],
            "postgres_schema": postgres_schema_for(folder)}


def store_env(folder: Path) -> dict[str, str]:
    """The same as environment variables, for a ``ledger`` process the test starts with ``LEDGER_HOME=folder``."""
    return {f"LEDGER_{key.upper()}": value for key, value in store_options(folder).items()}


def cli_store(home: Path, backend: str) -> dict[str, str]:
    """The variables that put a ``ledger`` subprocess of ``home`` on ``backend`` (PostgreSQL: its own schema)."""
    return store_env(home) if backend == "postgres" else {}


def ledger_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ledger ARGS`` in ``env``, its output captured."""
    return subprocess.run([sys.executable, "-m", "ledger", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def shared_nats() -> dict[str, str]:
    """The test session's NATS credentials folder (``tests/conftest.py``), for ledgers that serve on its server."""
    return {"LEDGER_NATS_DIR": os.environ["LEDGER_NATS_DIR"]} if os.environ.get("LEDGER_NATS_DIR") else {}


def store_sql(folder: Path, *statements: tuple[str, tuple[Any, ...]]) -> list[int]:
    """Run SQL on the event store of ``folder``'s ledger as someone without the ledger's key would (the
    ``sqlite3`` shell, ``psql``), ``?`` placeholders on both backends; the rows each statement changed."""
    counts: list[int] = []
    if backend() == "postgres":
        import psycopg

        with psycopg.connect(os.environ["LEDGER_TEST_POSTGRES_DSN"]) as conn:
            conn.execute(f'set search_path to "{schema_name(folder)}"')
            for sql, params in statements:
                counts.append(conn.execute(sql.replace("?", "%s"), params).rowcount)
        return counts
    import sqlite3

    db = sqlite3.connect(folder / "ledger.db")
    for sql, params in statements:
        counts.append(db.execute(sql, params).rowcount)
    db.commit()
    db.close()
    return counts


def events_at(position: int | None = None, topic: str = "") -> tuple[str, str, tuple[Any, ...]]:
    """The events table, and the condition and parameters naming the event row at ``position`` (or every row)
    of the topics starting with ``topic``, on the backend of the run."""
    table, column = ("ledger_events", "notification_id") if backend() == "postgres" else ("stored_events", "rowid")
    if position is None:
        return table, "topic like ?", (f"{topic}%",)
    return table, f"topic like ? and {column} = ?", (f"{topic}%", position)


def edit_events(folder: Path, old: str, new: str, *, position: int | None = None, topic: str = "") -> int:
    """Replace ``old`` by ``new`` in the state of event rows (:func:`events_at`) without the ledger's key; how
    many rows changed."""
    replaced = ("convert_to(replace(convert_from(state, 'UTF8'), ?, ?), 'UTF8')" if backend() == "postgres"
                else "cast(replace(state, ?, ?) as blob)")
    table, where, params = events_at(position, topic)
    return store_sql(folder, (f"update {table} set state = {replaced} where {where}", (old, new, *params)))[0]


def make_ledger(folder: Path, *, clock: ManualClock | None = None, snapshot_interval: int = 100,
                gateway: GatewaySimulator | None = None, ids: IdGenerator | None = None,
                serving: bool = False) -> Ledger:
    """A ledger on ``folder/ledger.db`` (or a PostgreSQL schema of its own) with deterministic time and ids;
    ``serving``: with group commit, as ``serve`` writes."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # a private home, as the ledger requires
    settings = Settings.from_env(shared_nats(), home=folder, db_path=folder / "ledger.db",
                                 gateway_db=folder / "gateway.db", snapshot_interval=snapshot_interval,
                                 **store_options(folder))
    clock = clock or ManualClock(START, zone=settings.timezone)
    return build(settings, clock=clock, gateway=gateway or GatewaySimulator(clock, str(folder / "gateway.db")),
                 ids=ids or SequentialIds(), serving=serving)


class LedgerCopies:
    """Ledgers that each start from the same state, for properties that need a fresh ledger per example: the
    set-up runs once on a ledger of its own, whose closed files (store, gateway, keys, secret) each :meth:`new`
    ledger then gets a copy of, with the ids it had handed out (a restart of that ledger, as private as a
    freshly built one). On PostgreSQL, whose schema a copied folder does not carry, every ledger runs the
    set-up itself."""

    def __init__(self, folder: Path, setup: Callable[[Ledger], object]) -> None:
        self.folder, self.setup = folder, setup
        ledger = make_ledger(folder)
        try:
            setup(ledger)
            assert isinstance(ledger.ports.ids, SequentialIds)
            self.ids = copy.deepcopy(ledger.ports.ids)
        finally:
            ledger.close()
            if isinstance(ledger.ports.gateway, GatewaySimulator):
                ledger.ports.gateway.close()  # its write-ahead log checkpointed: the files are whole

    def new(self, folder: Path) -> Ledger:
        """A ledger on ``folder`` (empty or missing) in the state the set-up left."""
        if backend() != "sqlite":
            ledger = make_ledger(folder)
            self.setup(ledger)
            return ledger
        shutil.copytree(self.folder, folder, dirs_exist_ok=True)
        return make_ledger(folder, ids=copy.deepcopy(self.ids))


def logged(ledger: Ledger) -> list[Any]:
    """Every event in the ledger's log, in order (for the invariant checker)."""
    events: list[Any] = []
    after = 0
    while notes := ledger.store.recorder.select_notifications(start=after, limit=1000, inclusive_of_start=False):
        after = notes[-1].id
        events += [ledger.store.mapper.to_domain_event(note) for note in notes]
    return events


async def reset_streams(js: Any, *names: str) -> None:
    """Delete the named JetStream streams if they exist (the session's nats-server is shared by tests)."""
    for name in names or ("LEDGER_EVENTS", "LEDGER_DLQ"):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """structlog's ``capture_logs`` that also catches the ledger's module loggers: a logger used before a later
    ``configure_logging`` (an in-process CLI run in an earlier test) keeps the processors of its first use, so
    each module's ``log`` is replaced by a fresh one for the duration, and INFO lines pass (a quiet run before
    may have filtered them)."""
    import sys

    import structlog
    from structlog._config import BoundLoggerLazyProxy
    from structlog.testing import capture_logs

    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))  # INFO too, whatever ran before
    with pytest.MonkeyPatch.context() as patch:
        for module in list(sys.modules.values()):
            if not module.__name__.startswith(("ledger", "workers")):
                continue
            for name, found in list(vars(module).items()):  # ``log``, ``security``: every module logger
                if isinstance(found, BoundLoggerLazyProxy):
                    patch.setattr(module, name, structlog.get_logger(*found._logger_factory_args))
        try:
            with capture_logs() as logs:
                yield logs
        finally:
            structlog.configure(wrapper_class=wrapper)


async def fresh_streams(url: str) -> tuple[Any, Any]:
    """(connection, JetStream context) to the nats-server at ``url`` with LEDGER_EVENTS and LEDGER_DLQ made
    anew (empty)."""
    import nats

    from workers.streams import ensure_dlq_stream, ensure_events_stream

    nc = await nats.connect(url)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    return nc, js


@contextlib.asynccontextmanager
async def serving(ledger: Ledger, home: Path, url: str, **options: Any) -> AsyncIterator[Any]:
    """The NATS API of ``ledger`` started, answering (its subscriptions reached the server: a request sent at
    once could otherwise find no responders), and always stopped afterwards (a broker left running by a failed
    test would take a share of every later test's requests in the queue group)."""
    import nats

    from ledger.nats_api.api import build_broker
    from ledger.projections.keeper import ProjectionKeeper
    from workers.runtime import wait_until_answering

    broker = build_broker(ledger, ProjectionKeeper(ledger.store, home), url, **options)
    await broker.start()
    try:
        nc = await nats.connect(url)
        try:
            await wait_until_answering(nc)
        finally:
            await nc.close()
        yield broker
    finally:
        await broker.stop()


class LedgerCli:
    """The ``ledger`` CLI on a ledger folder of its own, run in-process at 2026-09-10T12:00 (business zone)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()
        self.env = {"LEDGER_HOME": str(home), "LEDGER_DB": str(home / "ledger.db"), "LEDGER_LOG_FORMAT": "json",
                    "LEDGER_PROJECTIONS_DIR": str(home / "projections")}

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["--at", "2026-09-10T12:00", *args], env=self.env, catch_exceptions=False)


#: The id rule before the safe alphabet (1-64 printable characters, no space): what older histories hold.
OLD_ID_CHARACTERS = re.compile(r"[^\s]+")


def ids_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Create ids as a release before the safe alphabet did (an account ``MÜLLER-01``, an invoice ``<i>I1</i>``),
    for tests of histories that hold them."""
    monkeypatch.setattr(validation, "ID_CHARACTERS", OLD_ID_CHARACTERS)
