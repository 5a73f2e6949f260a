"""pytest plugin: run every store-dependent test on SQLite and on PostgreSQL, chosen from the command line.

A test opts in by asking for the ``store_backend`` fixture (directly, or through a fixture that does); it is then
collected once per backend, ``test_x[sqlite]`` and ``test_x[postgres]``, and ``tests.ledger_fixtures.make_ledger``
builds its ledger on that backend (through ``LEDGER_TEST_STORE``). Nothing is duplicated: one test, two stores.

    pytest --store=all        # default: both (PostgreSQL skipped when LEDGER_TEST_POSTGRES_DSN is unset)
    pytest --store=sqlite     # only SQLite
    pytest --store=postgres   # only PostgreSQL (skipped without a DSN)

``LEDGER_TEST_STORES`` sets the default of ``--store``. On PostgreSQL each test's ledgers live in schemas of
their own (named from their folders under the test's ``tmp_path``); exactly those are dropped after the test, so
two test runs sharing one server never touch each other's schemas.

Enable it in ``tests/conftest.py`` with ``pytest_plugins = ["tests.store_backends"]``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--store``: which event stores the store-dependent tests run on."""
    parser.addoption("--store", choices=(*BACKENDS, "all"), default=os.environ.get("LEDGER_TEST_STORES", "all"),
                     help="event store(s) for tests using store_backend: sqlite, postgres or all (default)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that uses ``store_backend`` with the chosen backends."""
    if "store_backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--store")
        backends = list(BACKENDS) if chosen == "all" else [chosen]
        metafunc.parametrize("store_backend", backends, indirect=True)


def schema_name(folder: Path) -> str:
    """The PostgreSQL schema ``tests.ledger_fixtures`` gives the ledger of ``folder``."""
    return "t_" + hashlib.sha1(str(folder).encode()).hexdigest()[:16]


@pytest.fixture
def store_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                  tmp_path: Path) -> Iterator[str]:
    """The backend this run of the test uses (``sqlite`` or ``postgres``)."""
    backend: str = getattr(request, "param", "sqlite")
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN", "")
    if backend == "postgres":
        if not dsn:
            pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
        request.applymarker(pytest.mark.postgres)
    monkeypatch.setenv("LEDGER_TEST_STORE", backend)
    yield backend
    if backend == "postgres":
        _drop_schemas(dsn, [tmp_path, *(p for p in tmp_path.rglob("*") if p.is_dir())])


def _drop_schemas(dsn: str, folders: list[Path]) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for folder in folders:
            conn.execute(f'drop schema if exists "{schema_name(folder)}" cascade')
