"""The credentials store on SQLite and on PostgreSQL (LEDGER_STORE=postgres): one login per email whatever its
case, sessions that end after 30 minutes idle, single-use links that expire, failed attempts counted per key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.web.credentials import SESSION_IDLE, CredentialStore, digest, email_key


class Clock:
    def __init__(self) -> None:
        self.now = 5_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[CredentialStore, Clock]]:
    clock = Clock()
    if request.param == "sqlite":
        made = CredentialStore(tmp_path / "portal.db", clock)
        yield made, clock
        made.close()
        return
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
    schema = f"portal_{uuid.uuid4().hex[:10]}"
    made = CredentialStore.postgres(dsn, schema, clock)
    yield made, clock
    made._db.execute(f"drop schema {schema} cascade")
    made.close()


def test_one_login_per_email_whatever_its_case(store: tuple[CredentialStore, Clock]) -> None:
    credentials, _ = store
    login = credentials.register("ACC1", "Ada@Example.com", "hash-1")
    assert credentials.login_by_email("ada@example.COM") == login and login.login_id.startswith("c-")
    with pytest.raises(Exception, match=r"(?i)unique"):
        credentials.register("ACC2", "ADA@example.com", "hash-2")
    credentials.confirm("ACC1")
    credentials.set_password("ACC1", "hash-3")
    found = credentials.login_of("ACC1")
    assert found is not None and found.confirmed and found.password_hash == "hash-3"


def test_sessions_end_after_30_minutes_idle(store: tuple[CredentialStore, Clock]) -> None:
    credentials, clock = store
    raw = credentials.open_session(credentials.register("ACC1", "ada@example.com", "h"))
    clock.now += SESSION_IDLE - 1
    assert credentials.session(raw) is not None  # and the idle clock restarts
    clock.now += SESSION_IDLE - 1
    assert credentials.session(raw) is not None
    clock.now += SESSION_IDLE + 1
    assert credentials.session(raw) is None and credentials.session("forged") is None


def test_links_are_single_use_and_expire(store: tuple[CredentialStore, Clock]) -> None:
    credentials, clock = store
    raw = credentials.issue_link("reset", "ACC1", 3600)
    assert credentials.link_account("confirm", raw) is None  # another purpose
    assert credentials.use_link("reset", raw) == "ACC1" and credentials.use_link("reset", raw) is None
    late = credentials.issue_link("reset", "ACC1", 3600)
    clock.now += 3600
    assert credentials.use_link("reset", late) is None


def test_failed_attempts_are_counted_per_key(store: tuple[CredentialStore, Clock]) -> None:
    credentials, clock = store
    for _ in range(3):
        credentials.failed("email:ada@example.com")
    assert credentials.failures("email:ada@example.com") == (3, clock.now)
    assert credentials.failures("addr:127.0.0.1") == (0, 0.0)
    credentials.succeeded("email:ada@example.com")
    assert credentials.failures("email:ada@example.com") == (0, 0.0)


def test_failed_login_rows_cannot_be_linked_to_a_known_email(store: tuple[CredentialStore, Clock]) -> None:
    """The rows were keyed by the email's plain SHA-256: anyone with a copy of the table and an email found its
    row. Now an HMAC under the ledger's secret; counting works as before."""
    credentials, _ = store
    credentials.failed(email_key("Ada@example.com"))
    credentials.failed("addr:203.0.113.9")
    assert credentials.failures(email_key("ada@example.com"))[0] == 1
    keys = {str(row[0]) for row in credentials._db.execute("select key from attempts").fetchall()}  # type: ignore[attr-defined]
    assert len(keys) == 2
    for known in (email_key("ada@example.com"), digest("ada@example.com"), "ada@example.com", "203.0.113.9"):
        assert not any(known in key or key in known for key in keys)


def test_forget_deletes_the_failed_logins_of_the_accounts_emails(store: tuple[CredentialStore, Clock]) -> None:
    """Only the login's own email's row was deleted: the account's other address kept its row."""
    credentials, _ = store
    credentials.register("ACC1", "Ada@Example.com", "hash-1")
    for email in ("ada@example.com", "ada.old@example.com", "bo@example.com"):
        credentials.failed(email_key(email))
    credentials.forget("ACC1", ["Ada.Old@example.com"])
    assert credentials.failures(email_key("ada@example.com")) == (0, 0.0)
    assert credentials.failures(email_key("ada.old@example.com")) == (0, 0.0)
    assert credentials.failures(email_key("bo@example.com"))[0] == 1


@pytest.mark.postgres
def test_erase_leaves_no_bytes_of_a_login_in_postgres_files(tmp_path: Path) -> None:
    """A plain VACUUM left the forgotten email's bytes in the files (here, the index on lower(email) kept them).
    After erase (``ledger account forget``), every file of the schema (checkpointed, read back by the server
    itself) is searched for it."""
    dsn = os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("LEDGER_TEST_POSTGRES_DSN is not set")
    schema = f"portal_{uuid.uuid4().hex[:10]}"
    credentials = CredentialStore.postgres(dsn, schema)
    try:
        credentials.open_session(credentials.register("ACC1", "Forget.Me@example.com", "hash-1"))
        credentials.erase("ACC1")
        database = credentials._db
        database.execute("checkpoint")
        files = database.execute(  # type: ignore[call-arg]
            "select c.relname, pg_read_binary_file(pg_relation_filepath(c.oid)) from pg_class c join pg_namespace n "
            "on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'i', 't')", (schema,)).fetchall()
        assert len(files) >= 8 and any(len(data) for _, data in files)  # the files were read
        assert [name for name, data in files if b"orget.me@example.com" in bytes(data).lower()] == []
    finally:
        credentials._db.execute(f"drop schema {schema} cascade")
        credentials.close()
