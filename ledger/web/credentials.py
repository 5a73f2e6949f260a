"""The portal's credentials store: password hashes, sessions and one-time link hashes (``$LEDGER_HOME/portal.db``).

Passwords, sessions and links must change and be erasable, so they live here, beside the event log and never in
it; the ledger records only the facts (invitation accepted, password changed, reset requested). Secrets are kept
as hashes: argon2id for passwords (pwdlib), SHA-256 for session ids and one-time link tokens, whose raw values
exist only in the customer's cookie or email. The failed-login counters are kept under an HMAC of the ledger's
secret (``$LEDGER_HOME/secret`` or LEDGER_SECRET) of their key (an email, an address): without the secret, a
known email cannot be linked to its row (a plain digest of it could be computed by anyone).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeAlias

import msgspec

from ledger.config import Settings
from ledger.ports.tokens import load_or_create_secret

#: The tables, for SQLite (``{time}`` ``real``) and PostgreSQL (``double precision``): one email has one login,
#: compared case-insensitively (seed 003).
SCHEMA = (
    """create table if not exists logins (
    account text primary key, email text not null, password_hash text not null,
    confirmed integer not null default 0, created_at {time} not null, changed_at {time} not null,
    login_id text not null unique)""",
    "create unique index if not exists logins_email on logins (lower(email))",
    """create table if not exists sessions (
    id_hash text primary key, account text not null, email text not null, login_id text not null,
    created_at {time} not null, seen_at {time} not null)""",
    "create index if not exists sessions_account on sessions (account)",
    """create table if not exists links (
    token_hash text primary key, purpose text not null, account text not null, expires_at {time} not null,
    used_at {time})""",
    "create table if not exists attempts (key text primary key, failures integer not null, last_at {time} not null)",
    "delete from attempts where key like '%:%'",  # rows of before their keys were keyed: a digest of an email
)

#: Seed-less portal rules: a session ends after 30 minutes without a request.
SESSION_IDLE = 30 * 60.0


def digest(raw: str) -> str:
    """SHA-256 hex of a raw session id or link token: the only form kept."""
    return hashlib.sha256(raw.encode()).hexdigest()


def email_key(email: str) -> str:
    """The rate-limit key of the failed logins of an email, whatever its case (the store keeps only an HMAC of
    it: the attempts table never holds an email, not even one typed at the login form after its account was
    forgotten, nor a digest anyone could compute from a known email)."""
    return f"email:{digest(email.strip().lower())}"


class Login(msgspec.Struct, frozen=True):
    """The one portal login of an account (seed 003: one login per customer, on the primary email).

    ``login_id`` is what the ledger records as the customer actor's name: opaque, never the email (events are
    never erased; an email is personal data)."""

    account: str
    email: str
    password_hash: str
    confirmed: bool
    login_id: str


class Session(msgspec.Struct, frozen=True):
    """A logged-in browser: whose account it acts for, and as which login."""

    account: str
    email: str
    login_id: str


#: A value bound to one of a statement's ``?`` placeholders.
Param: TypeAlias = str | float | None


class Rows(Protocol):
    """What a statement answers: its first row, and how many rows it changed."""

    @property
    def rowcount(self) -> int:
        """Rows changed (an update or delete)."""
        ...

    def fetchone(self) -> tuple[object, ...] | None:
        """The next row, or None."""
        ...


class Database(Protocol):
    """A DB-API connection in autocommit (``sqlite3`` or ``psycopg``), as far as the store uses it."""

    def execute(self, statement: str, params: tuple[Param, ...] = (), /) -> Rows:
        """Run one statement with its parameters."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


_LOGIN = "select account, email, password_hash, confirmed, login_id from logins"


def _login(row: tuple[object, ...] | None) -> Login | None:
    return None if row is None else Login(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]))


class CredentialStore:
    """The credentials in SQLite (``$LEDGER_HOME/portal.db``) or a PostgreSQL schema (:meth:`postgres`); one
    connection in autocommit, shared by the app's threads under a lock. ``secret`` keys the failed-login rows
    (:meth:`attempt_key`): the ledger's secret, the same for every web instance and ``account forget`` (which
    deletes a forgotten email's rows by it); without one (tests), a random secret of this store alone."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time, *,
                 connection: Database | None = None, secret: bytes | None = None) -> None:
        if connection is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute("pragma journal_mode=wal")
            connection.execute("pragma secure_delete = on")  # a deleted login's bytes are overwritten (erasure)
        self._db = connection
        self._mark = "?" if isinstance(connection, sqlite3.Connection) else "%s"
        for statement in SCHEMA:
            self._db.execute(statement.format(time="real" if self._mark == "?" else "double precision"))
        self._lock = threading.Lock()
        self.clock = clock
        self._secret = secret or secrets.token_bytes(32)

    @classmethod
    def postgres(cls, dsn: str, schema: str, clock: Callable[[], float] = time.time, *,
                 secret: bytes | None = None) -> CredentialStore:
        """The credentials in PostgreSQL schema ``schema`` (created if missing) of the server ``dsn`` names, for
        several web instances behind a load balancer (LEDGER_STORE=postgres)."""
        import psycopg
        from psycopg import sql

        from ledger.store.postgres_dsn import postgres_connection_arguments

        connection = psycopg.connect(psycopg.conninfo.make_conninfo("", **postgres_connection_arguments(dsn)),
                                     autocommit=True)
        connection.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        connection.execute(sql.SQL("set search_path to {}").format(sql.Identifier(schema)))
        return cls(Path(), clock, connection=connection, secret=secret)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _one(self, text: str, *params: Param) -> tuple[object, ...] | None:
        with self._lock:
            return self._db.execute(text.replace("?", self._mark), params).fetchone()

    def _run(self, text: str, *params: Param) -> int:
        with self._lock:
            return self._db.execute(text.replace("?", self._mark), params).rowcount

    # logins
    def login_by_email(self, email: str) -> Login | None:
        """The login whose email is ``email`` (case-insensitive)."""
        return _login(self._one(f"{_LOGIN} where lower(email) = lower(?)", email))

    def login_of(self, account: str) -> Login | None:
        """The login of ``account``."""
        return _login(self._one(f"{_LOGIN} where account = ?", account))

    def register(self, account: str, email: str, password_hash: str) -> Login:
        """Create the login of ``account``, not yet confirmed, with a new opaque login id."""
        now, login_id = self.clock(), f"c-{secrets.token_hex(6)}"
        self._run("insert into logins values (?, ?, ?, 0, ?, ?, ?)", account, email, password_hash, now, now,
                  login_id)
        return Login(account, email, password_hash, False, login_id)

    def forget(self, account: str, emails: Iterable[str] = ()) -> None:
        """Delete the account's login (its email and password hash), sessions, links and the failed logins of its
        login's email and of ``emails`` (the account's own): a registration the ledger refused."""
        login = self.login_of(account)
        for email in (*emails, *((login.email,) if login is not None else ())):
            self._run("delete from attempts where key = ?", self.attempt_key(email_key(email)))
        for table in ("logins", "sessions", "links"):
            self._run(f"delete from {table} where account = ?", account)

    def erase(self, account: str, emails: Iterable[str] = ()) -> None:
        """:meth:`forget` an erased account (``ledger account forget``, a forgotten account met by the portal),
        leaving none of its bytes in the tables' files: SQLite overwrites deleted rows (``secure_delete``) and the
        WAL is truncated; a PostgreSQL VACUUM leaves dead rows' bytes (an index's copy of the email too) until
        overwritten, so the four small tables are rewritten (VACUUM FULL; erasures are rare, a refused
        registration only forgets). Neither reaches PostgreSQL's WAL, archives, replicas, backups or freed blocks."""
        self.forget(account, emails)
        with self._lock:
            if self._mark == "?":
                self._db.execute("pragma wal_checkpoint(truncate)")
            else:
                self._db.execute("vacuum full logins, sessions, links, attempts")

    def confirm(self, account: str) -> None:
        """The customer clicked Confirm in the confirmation email (seed 002)."""
        self._run("update logins set confirmed = 1 where account = ?", account)

    def set_password(self, account: str, password_hash: str) -> None:
        """Store a new hash (a change, a reset or a rehash with new parameters)."""
        self._run("update logins set password_hash = ?, changed_at = ? where account = ?", password_hash,
                  self.clock(), account)

    # sessions
    def open_session(self, login: Login) -> str:
        """A new session id (raw, for the cookie); only its hash is stored."""
        raw = secrets.token_urlsafe(32)
        now = self.clock()
        self._run("insert into sessions values (?, ?, ?, ?, ?, ?)", digest(raw), login.account, login.email,
                  login.login_id, now, now)
        return raw

    def session(self, raw: str) -> Session | None:
        """The live session of a cookie, its idle clock restarted; None when unknown or idle over 30 minutes
        (an expired one is deleted)."""
        key, now = digest(raw), self.clock()
        row = self._one("select account, email, login_id, seen_at from sessions where id_hash = ?", key)
        if row is None:
            return None
        if now - float(str(row[3])) > SESSION_IDLE:
            self._run("delete from sessions where id_hash = ?", key)
            return None
        self._run("update sessions set seen_at = ? where id_hash = ?", now, key)
        return Session(str(row[0]), str(row[1]), str(row[2]))

    def close_session(self, raw: str) -> None:
        """Log out one browser."""
        self._run("delete from sessions where id_hash = ?", digest(raw))

    def close_sessions(self, account: str) -> None:
        """Log out every browser of the account (after a password reset)."""
        self._run("delete from sessions where account = ?", account)

    # one-time links
    def issue_link(self, purpose: str, account: str, valid_for: float) -> str:
        """A raw one-time token for ``purpose`` (``confirm``, ``reset``), valid ``valid_for`` seconds."""
        raw = secrets.token_urlsafe(32)
        self._run("insert into links values (?, ?, ?, ?, null)", digest(raw), purpose, account,
                  self.clock() + valid_for)
        return raw

    def link_account(self, purpose: str, raw: str) -> str | None:
        """The account a live, unused link of ``purpose`` is for, without using it."""
        row = self._one("select account, expires_at, used_at from links where token_hash = ? and purpose = ?",
                        digest(raw), purpose)
        if row is None or row[2] is not None or float(str(row[1])) <= self.clock():
            return None
        return str(row[0])

    def use_link(self, purpose: str, raw: str) -> str | None:
        """Spend a link: its account, or None when unknown, used or expired (single use)."""
        account = self.link_account(purpose, raw)
        if account is None:
            return None
        changed = self._run("update links set used_at = ? where token_hash = ? and used_at is null", self.clock(),
                            digest(raw))
        return account if changed == 1 else None

    # login attempts
    def attempt_key(self, key: str) -> str:
        """The row of rate-limit ``key`` (``email_key``, ``addr:<address>``): its HMAC-SHA256 under the secret."""
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()

    def failures(self, key: str) -> tuple[int, float]:
        """(failed attempts in a row, time of the last) for a rate-limit key."""
        row = self._one("select failures, last_at from attempts where key = ?", self.attempt_key(key))
        return (0, 0.0) if row is None else (int(str(row[0])), float(str(row[1])))

    def failed(self, key: str) -> None:
        """Count one more failed attempt."""
        self._run("insert into attempts values (?, 1, ?) on conflict (key) do update set "
                  "failures = attempts.failures + 1, last_at = excluded.last_at", self.attempt_key(key), self.clock())

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key``."""
        self._run("delete from attempts where key = ?", self.attempt_key(key))


def credential_store(settings: Settings) -> CredentialStore:
    """``$LEDGER_HOME/portal.db``, or with LEDGER_STORE=postgres the schema ``portal`` (``<schema>_portal`` beside
    a LEDGER_POSTGRES_SCHEMA) of the same server, shared by every web instance and reached by ``account forget``."""
    secret = load_or_create_secret(settings.home / "secret",
                                   settings.secret.value.encode() if settings.secret is not None else None)
    if settings.store != "postgres":
        return CredentialStore(settings.home / "portal.db", secret=secret)
    schema = f"{settings.postgres_schema}_portal" if settings.postgres_schema else "portal"
    return CredentialStore.postgres(settings.postgres_dsn, schema, secret=secret)
