"""The composition root: the one place where settings, store, ports and service are wired together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.adapters.clock import ManualClock, SystemClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.commands.batching import BatchingService
from ledger.commands.dispatch import LedgerService
from ledger.commands.unit import Ports
from ledger.config import Settings
from ledger.ports.clock import Clock
from ledger.ports.gateway import Gateway
from ledger.ports.ids import IdGenerator, RandomIds
from ledger.ports.tokens import TokenIssuer, load_or_create_secret
from ledger.store.application import LedgerStore


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


def build(settings: Settings, *, at: datetime | None = None, clock: Clock | None = None,
          gateway: Gateway | None = None, ids: IdGenerator | None = None) -> Ledger:
    """Wire a ledger; ``at`` freezes the clock (CLI ``--at``), tests pass their own adapters."""
    if clock is None:
        clock = ManualClock(at, zone=settings.timezone) if at is not None else SystemClock(settings.timezone)
    if gateway is None:
        settings.gateway_db.parent.mkdir(parents=True, exist_ok=True)
        gateway = GatewaySimulator(clock, str(settings.gateway_db))
    secret = load_or_create_secret(settings.home / "secret")
    ports = Ports(clock=clock, gateway=gateway, ids=ids or RandomIds(), tokens=TokenIssuer(secret))
    store = LedgerStore(settings)
    service: LedgerService | BatchingService = (BatchingService(store, ports) if settings.group_commit
                                                else LedgerService(store, ports))
    return Ledger(settings, store, ports, service)
