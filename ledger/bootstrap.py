"""The composition root: the one place where settings, store, ports, service, read models, mailer and workers are
wired together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.adapters.clock import ManualClock, SystemClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.commands.batching import BatchingService
from ledger.commands.dispatch import LedgerService
from ledger.config import Settings, ensure_private_home
from ledger.identity.credentials import Credentials
from ledger.personal.vault import load_keks
from ledger.ports import Ports
from ledger.ports.clock import Clock
from ledger.ports.gateway import Gateway
from ledger.ports.ids import IdGenerator, RandomIds
from ledger.ports.mailer import Mailer
from ledger.ports.tokens import TokenIssuer, load_or_create_secret
from ledger.projections.keeper import ProjectionKeeper
from ledger.store.application import LedgerStore

if TYPE_CHECKING:
    from workers.consumer import Worker


@dataclass
class Ledger:
    """A wired ledger: settings, the event store, the ports and the command service."""

    settings: Settings
    store: LedgerStore
    ports: Ports
    service: LedgerService | BatchingService

    def close(self) -> None:
        """Stop the group committer (if any) and release database connections."""
        if isinstance(self.service, BatchingService):
            self.service.close()
        self.store.close()

    def keeper(self) -> ProjectionKeeper:
        """The read models and the hash chain of this ledger's store (one per thread that uses them)."""
        return keeper(self.store, self.settings)

    def credentials(self) -> Credentials:
        """The NATS users of this ledger (LEDGER_NATS_DIR) and how its processes reach NATS (LEDGER_NATS_TLS_*)."""
        return Credentials(self.settings.nats_dir, self.settings.nats_tls)

    def mailer(self) -> Mailer:
        """SMTP when SMTP_HOST is set, else a Maildir under ``home/mail``."""
        return mailer_of(self.settings)

    def workers(self, names: Sequence[str], mailer: Mailer | None = None,
                portal_url: str | None = None) -> list[Worker]:
        """The named event consumers (emails, orders, autopay), sending with ``mailer`` (default: :meth:`mailer`)
        and linking to ``portal_url`` (default: LEDGER_PORTAL_URL, else the portal's configured address)."""
        from workers.autopay import AutopayWorker
        from workers.emails import EmailWorker
        from workers.orders import OrdersWorker

        made: list[Worker] = []
        for name in names:
            if name == "emails":
                made.append(EmailWorker(self.store, mailer or self.mailer(), self.ports.tokens,
                                        portal_url or self.settings.portal_link_base(), self.settings.mail_from))
            elif name == "orders":
                made.append(OrdersWorker(self.store, self.service))
            elif name == "autopay":
                made.append(AutopayWorker(self.store, self.service))
        return made


def mailer_of(settings: Settings) -> Mailer:
    """SMTP when SMTP_HOST is set, else a Maildir under ``home/mail`` (the ledger's workers and the portal)."""
    from ledger.adapters.mailers import MaildirMailer, SmtpMailer

    smtp = settings.smtp
    if smtp is None:
        return MaildirMailer(settings.home / "mail")
    return SmtpMailer(smtp.host, smtp.port, username=smtp.user, start_tls=smtp.start_tls,
                      password=smtp.password.value if smtp.password is not None else None)


def keeper(store: LedgerStore, settings: Settings) -> ProjectionKeeper:
    """The read models (LEDGER_PROJECTIONS_DIR) and hash chain (LEDGER_CHAIN_DB) of ``store``."""
    return ProjectionKeeper(store, settings.home, projections_dir=settings.projections_dir,
                            chain_db=settings.chain_db)


def build(settings: Settings, *, at: datetime | None = None, clock: Clock | None = None,
          gateway: Gateway | None = None, ids: IdGenerator | None = None, serving: bool = False) -> Ledger:
    """Wire a ledger; ``at`` freezes the clock (CLI ``--at``), tests pass their own adapters. ``serving``: for
    ``serve``, which decides many commands at once: group commit unless ``LEDGER_GROUP_COMMIT=0`` (one command
    of the CLI gains nothing from it, and writes in one transaction of its own unless ``LEDGER_GROUP_COMMIT=1``)."""
    if clock is None:
        clock = ManualClock(at, zone=settings.timezone) if at is not None else SystemClock(settings.timezone)
    ensure_private_home(settings.home)
    if gateway is None:
        settings.gateway_db.parent.mkdir(parents=True, exist_ok=True)
        gateway = GatewaySimulator(clock, str(settings.gateway_db))
    given = settings.secret.value.encode() if settings.secret is not None else None
    secret = load_or_create_secret(settings.home / "secret", given)
    load_keks(settings)  # cipher.key exists from the first start (0600); a bad LEDGER_CIPHER_KEY stops the start
    ports = Ports(clock=clock, gateway=gateway, ids=ids or RandomIds(), tokens=TokenIssuer(secret))
    store = LedgerStore(settings)
    grouped = serving if settings.group_commit is None else settings.group_commit
    service: LedgerService | BatchingService = BatchingService(store, ports) if grouped else LedgerService(store,
                                                                                                          ports)
    return Ledger(settings, store, ports, service)
