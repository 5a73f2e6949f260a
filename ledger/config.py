"""Configuration: every environment variable the ledger reads, read once and checked, into one ``Settings``.

Nothing else reads the environment: the composition root (:mod:`ledger.bootstrap`) wires the store, the ports,
the workers and the projections from a ``Settings``. A bad value is refused when the settings are read, with one
line naming the variable (a :class:`ValidationError` whose field is the variable). The variables, their
defaults and meanings are the README's configuration table (``tests/unit/test_settings.py`` keeps the two equal).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import msgspec

from ledger.environment import EnvReader, invalid
from ledger.errors import ValidationError
from ledger.ports.tokens import MIN_SECRET_BYTES
from ledger.store.postgres_dsn import postgres_parameters

#: The event consumers ``serve`` may run (LEDGER_WORKERS); ``ledger worker`` also runs the scheduler alone.
CONSUMERS = ("emails", "orders", "autopay")
WORKER_NAMES = (*CONSUMERS, "expiry")
#: The event-sourcing library's PostgreSQL pool variables, read here and passed on to it (the library is given
#: no other: docs/deploy-postgres.md): (variable, the library's default, least value).
POSTGRES_POOL = (("POSTGRES_POOL_SIZE", 5, 1), ("POSTGRES_MAX_OVERFLOW", 10, 0), ("POSTGRES_CONNECT_TIMEOUT", 30, 1),
                 ("POSTGRES_LOCK_TIMEOUT", 0, 0), ("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", 5, 0))


class Secret:
    """A secret setting (LEDGER_SECRET, SMTP_PASSWORD): its value never shows in a repr or a log line."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('[hidden]')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return Secret, (self.value,)


class Smtp(msgspec.Struct, frozen=True, kw_only=True):
    """The SMTP relay for customer emails (SMTP_*); without one, emails go to the Maildir ``home/mail``."""

    host: str
    port: int = 25
    user: str | None = None
    password: Secret | None = None
    start_tls: bool = False


class NatsTls(msgspec.Struct, frozen=True, kw_only=True):
    """TLS to NATS (LEDGER_NATS_TLS_*): the CA of the server's certificate, a client certificate if asked."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the composition root needs to wire the service, its workers and its read models."""

    home: Path = Path("var")
    db_path: Path = Path("var/ledger.db")
    store: str = "sqlite"
    postgres_dsn: str = ""
    postgres_schema: str = ""
    #: POSTGRES_POOL_SIZE and the other variables of :data:`POSTGRES_POOL`, as (variable, value).
    postgres_pool: tuple[tuple[str, int], ...] = ()
    timezone: str = "America/New_York"
    snapshot_interval: int = 100
    gateway_db: Path = Path("var/gateway.db")
    projections_dir: Path = Path("var/projections")
    chain_db: Path = Path("var/chain.db")
    #: LEDGER_SECRET; None: the file ``home/secret``, created on first use.
    secret: Secret | None = None
    log_format: str = "auto"
    #: None: what the process is for decides (``serve``: group commit; a CLI command: one transaction).
    group_commit: bool | None = None
    aggregate_cache: int = 1000
    #: Commands a NATS API instance holds waiting to be decided, beyond those deciding (then: ``overloaded``).
    command_queue: int = 64
    #: Seconds a command request without a deadline header may wait to be decided.
    request_timeout: float = 5.0
    #: NATS_URL; empty: ``serve`` starts the bundled nats-server on ``nats_port`` (a free one if it is taken).
    nats_url: str = ""
    nats_port: int = 4222
    workers: tuple[str, ...] = CONSUMERS
    scheduler: bool = True
    worker_ack_wait: float = 30.0
    worker_max_deliver: int = 5
    smtp: Smtp | None = None
    mail_from: str = "ledger@localhost"
    #: LEDGER_PORTAL_URL; empty: the portal's own address (:meth:`portal_link_base`).
    portal_url: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    portal_exact: bool = False
    tokenizer_port: int = 0
    #: LEDGER_NATS_DIR: the NATS credentials and server configuration (``ledger.identity.credentials``).
    nats_dir: Path = Path("var/nats")
    nats_tls: NatsTls | None = None
    #: LEDGER_CIPHER_KEY; None: the file ``home/cipher.key``, created on first start (``ledger.personal.vault``).
    cipher_key: Secret | None = None
    cipher_old_keys: Secret | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); keyword overrides win (CLI flags)."""
        env = EnvReader(os.environ if environ is None else environ)
        chosen_db = overrides.get("db_path") or env.text("LEDGER_DB", "")
        given_home = env.text("LEDGER_HOME", "")
        if given_home or overrides.get("home") is not None or not chosen_db:
            home = Path(str(overrides.get("home") or given_home or "var"))
        else:  # --db elsewhere: keep its projections, secret and gateway state beside it, never mixed with var/
            home = Path(str(chosen_db)).parent
        secret = env.text("LEDGER_SECRET", "")
        values: dict[str, object] = {
            "home": home,
            "db_path": Path(env.text("LEDGER_DB", "") or home / "ledger.db"),
            "store": env.choice("LEDGER_STORE", "sqlite", ("sqlite", "postgres")),
            "postgres_dsn": env.text("LEDGER_POSTGRES_DSN", ""),
            "postgres_schema": env.text("LEDGER_POSTGRES_SCHEMA", ""),
            "postgres_pool": tuple((name, env.integer(name, default, least=least)) for name, default, least
                                   in POSTGRES_POOL),
            "timezone": env.timezone("LEDGER_TIMEZONE", "America/New_York"),
            "snapshot_interval": env.integer("LEDGER_SNAPSHOT_INTERVAL", 100, least=1),
            "gateway_db": Path(env.text("LEDGER_GATEWAY_DB", "") or home / "gateway.db"),
            "projections_dir": Path(env.text("LEDGER_PROJECTIONS_DIR", "") or home / "projections"),
            "chain_db": Path(env.text("LEDGER_CHAIN_DB", "") or home / "chain.db"),
            "secret": Secret(_strong_secret(secret)) if secret else None,
            "log_format": env.choice("LEDGER_LOG_FORMAT", "auto", ("auto", "json", "console")),
            "group_commit": env.flag("LEDGER_GROUP_COMMIT", False) if env.text("LEDGER_GROUP_COMMIT", "") else None,
            "command_queue": env.integer("LEDGER_COMMAND_QUEUE", 64, least=1),
            "request_timeout": env.seconds("LEDGER_REQUEST_TIMEOUT", 5.0),
            "aggregate_cache": env.integer("LEDGER_AGGREGATE_CACHE", 1000, least=0, empty=0),
            "nats_url": env.text("NATS_URL", ""),
            "nats_port": env.integer("LEDGER_NATS_PORT", 4222, least=1, most=65535),
            "workers": worker_names(env.text("LEDGER_WORKERS", ",".join(CONSUMERS))),
            "scheduler": env.flag("LEDGER_SCHEDULER", True),
            "worker_ack_wait": env.seconds("LEDGER_WORKER_ACK_WAIT", 30.0),
            "worker_max_deliver": env.integer("LEDGER_WORKER_MAX_DELIVER", 5, least=1),
            "smtp": _smtp(env),
            "mail_from": env.text("LEDGER_MAIL_FROM", "ledger@localhost"),
            "portal_url": env.url("LEDGER_PORTAL_URL", "").rstrip("/") if env.text("LEDGER_PORTAL_URL", "") else "",
            "http_host": env.text("LEDGER_HTTP_HOST", "127.0.0.1"),
            "http_port": env.integer("LEDGER_HTTP_PORT", 8080, least=0, most=65535),
            "portal_exact": env.flag("LEDGER_PORTAL_EXACT", False),
            "tokenizer_port": env.integer("LEDGER_TOKENIZER_PORT", 0, least=0, most=65535),
            "nats_dir": Path(env.text("LEDGER_NATS_DIR", "") or home / "nats"),
            "nats_tls": _nats_tls(env),
            "cipher_key": Secret(cipher) if (cipher := env.text("LEDGER_CIPHER_KEY", "")) else None,
            "cipher_old_keys": Secret(old) if (old := env.text("LEDGER_CIPHER_OLD_KEYS", "")) else None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.store == "postgres" and not settings.postgres_dsn:
            raise ValidationError("LEDGER_POSTGRES_DSN is required with LEDGER_STORE=postgres",
                                  field="LEDGER_POSTGRES_DSN")
        if settings.store == "postgres":
            postgres_parameters(settings.postgres_dsn)  # refused here, before anything connects
        return settings

    def http_url(self, port: int | None = None) -> str:
        """The portal's own address (``http://127.0.0.1:8080``), on ``port`` when it had to take another."""
        return f"http://{self.http_host}:{self.http_port if port is None else port}"

    def portal_link_base(self, port: int | None = None) -> str:
        """Where emails send customers: LEDGER_PORTAL_URL, else the portal's own address."""
        return self.portal_url or self.http_url(port)

    def security_log(self) -> Path:
        """The security log's own file (refused actors, erasures: :class:`ledger.logs.SecurityLog`)."""
        return self.home / "security.log"

    def store_description(self) -> str:
        """Where the events are, for log lines: the SQLite file, or PostgreSQL's host, database and schema."""
        if self.store != "postgres":
            return str(self.db_path)
        where, _ = postgres_parameters(self.postgres_dsn)
        schema = f" schema {self.postgres_schema}" if self.postgres_schema else ""
        return f"postgres {where['POSTGRES_HOST']}:{where['POSTGRES_PORT']}/{where['POSTGRES_DBNAME']}{schema}"

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this store."""
        cache = {"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache)} if self.aggregate_cache > 0 else {}
        return {**cache, **self._store_env()}

    def _store_env(self) -> dict[str, str]:
        if self.store == "postgres":
            where, extra = postgres_parameters(self.postgres_dsn)
            schema = {"POSTGRES_SCHEMA": self.postgres_schema} if self.postgres_schema else {}
            pool = {name: str(value) for name, value in self.postgres_pool}
            return {**pool, **schema, **where, "PERSISTENCE_MODULE": "ledger.store.postgres_factory",
                    "LEDGER_LIBPQ_PARAMETERS": msgspec.json.encode(extra).decode(), "CREATE_TABLE": "y"}
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite_durable",
            "SQLITE_DBNAME": str(self.db_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }


def ensure_private_home(home: Path) -> Path:
    """``home`` as a folder only its owner may enter: created with mode 0700, or refused when it exists with any
    permission for the group or others (it holds the secret that signs links and keys the hash chain, the
    event store, the gateway state and the mail). The folder is named with what to do; the ledger never changes
    the mode of a folder it did not create (``--db /tmp/x.db`` makes /tmp its home)."""
    with contextlib.suppress(FileExistsError):
        home.mkdir(mode=0o700, parents=True)
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        raise ValidationError(f"{home} can be read by other users (mode {mode:o}): run chmod 700 {home}, or point "
                              f"LEDGER_HOME at a private folder", field="LEDGER_HOME", code="home_not_private")
    return home


def worker_names(text: str) -> tuple[str, ...]:
    """The workers named in a LEDGER_WORKERS value (comma-separated; empty: none). A name that is not a
    worker is refused, naming it: a typo would otherwise start the process without the worker, silently."""
    stripped = (part.strip() for part in text.split(","))
    names = [name for name in stripped if name and name != "expiry"]  # the scheduler every serve runs
    for name in names:
        if name not in CONSUMERS:
            raise ValidationError(f"LEDGER_WORKERS names {name!r}, which is not a worker (workers: "
                                  f"{', '.join(CONSUMERS)})", field="LEDGER_WORKERS", code="unknown_worker")
    return tuple(dict.fromkeys(names))


def _strong_secret(secret: str) -> str:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValidationError(f"LEDGER_SECRET must be at least {MIN_SECRET_BYTES} bytes", field="LEDGER_SECRET",
                              code="weak_secret")
    return secret


def _smtp(env: EnvReader) -> Smtp | None:
    host = env.text("SMTP_HOST", "")
    port = env.integer("SMTP_PORT", 25, least=1, most=65535)
    user, password = env.text("SMTP_USER", ""), env.text("SMTP_PASSWORD", "")
    start_tls = env.flag("SMTP_STARTTLS", False)
    if not host:
        return None
    return Smtp(host=host, port=port, user=user or None, password=Secret(password) if password else None,
                start_tls=start_tls)


def _nats_tls(env: EnvReader) -> NatsTls | None:
    ca, cert, key = (env.text(f"LEDGER_NATS_TLS_{part}", "") for part in ("CA", "CERT", "KEY"))
    if not ca:
        if cert or key:
            raise invalid("LEDGER_NATS_TLS_CA", "is required with LEDGER_NATS_TLS_CERT / LEDGER_NATS_TLS_KEY")
        return None
    return NatsTls(ca=Path(ca), cert=Path(cert) if cert else None, key=Path(key) if key else None)
