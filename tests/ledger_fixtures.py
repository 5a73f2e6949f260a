"""Builders of real ledgers for tests: a real SQLite file, the gateway simulator and a manual clock."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.bootstrap import Ledger, build
from ledger.config import Settings
from ledger.ports.ids import SequentialIds

START = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)


def make_ledger(folder: Path, *, clock: ManualClock | None = None, snapshot_interval: int = 100,
                gateway: GatewaySimulator | None = None) -> Ledger:
    """A ledger on ``folder/ledger.db`` with deterministic time and ids."""
    settings = Settings.from_env({}, home=folder, db_path=folder / "ledger.db", gateway_db=folder / "gateway.db",
                                 snapshot_interval=snapshot_interval)
    clock = clock or ManualClock(START, zone=settings.timezone)
    return build(settings, clock=clock, gateway=gateway or GatewaySimulator(clock, str(folder / "gateway.db")),
                 ids=SequentialIds())


async def reset_streams(js: Any, *names: str) -> None:
    """Delete the named JetStream streams if they exist (the session's nats-server is shared by tests)."""
    for name in names or ("LEDGER_EVENTS", "LEDGER_DLQ"):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
