"""The command API's behaviour under failure and load, on a real nats-server: an unexpected failure is answered
with a typed ``internal`` error (never a silent timeout), and group commit really receives concurrent commands."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.nats_api.api import build_broker, command_concurrency
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import make_ledger
from workers.runtime import wait_until_answering

pytestmark = pytest.mark.nats


async def request(nc: nats.NATS, subject: str, body: bytes) -> Any:
    return msgspec.json.decode((await nc.request(subject, body, timeout=10)).data)


async def test_an_unexpected_failure_gets_an_internal_error_and_the_service_keeps_serving(
        tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    real = ledger.service.handle

    def failing(command: Any) -> Any:
        if isinstance(command, m.OpenAccount) and command.account == "BOOM":
            raise RuntimeError("disk on fire")
        return real(command)

    ledger.service.handle = failing  # type: ignore[method-assign]
    broker = build_broker(ledger, ProjectionKeeper(ledger.store, tmp_path), nats_server)
    await broker.start()
    nc = await nats.connect(nats_server)
    try:
        await wait_until_answering(nc)  # its subscriptions have reached the server
        reply = await request(nc, "ledger.cmd.account.open", b'{"account": "BOOM", "email": "b@example.com"}')
        assert reply["error"]["code"] == "internal" and "reference" in reply["error"]["message"]
        assert "disk on fire" not in reply["error"]["message"]  # internals stay in the log
        assert "ok" in await request(nc, "ledger.cmd.account.open", b'{"account": "A1", "email": "a@example.com"}')
        view = await request(nc, "ledger.read.account", b'{"account": "A1"}')
        assert view["ok"]["account"] == "A1"
    finally:
        await nc.close()
        await broker.stop()
        ledger.close()


class InFlight:
    """Wraps a service's ``handle`` to count the commands running at once (each made to last a little)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.now, self.most = handle, 0, 0
        self.lock = threading.Lock()

    def __call__(self, command: Any) -> Any:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.02)
            return self.handle(command)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize("group_commit", [False, True])
async def test_group_commit_receives_concurrent_commands(tmp_path: Path, nats_server: str,
                                                         group_commit: bool) -> None:
    settings = Settings.from_env({}, home=tmp_path, db_path=tmp_path / "ledger.db", group_commit=group_commit)
    ledger = build(settings)
    counter = InFlight(ledger.service.handle)
    ledger.service.handle = counter  # type: ignore[method-assign]
    broker = build_broker(ledger, ProjectionKeeper(ledger.store, tmp_path), nats_server)
    await broker.start()
    nc = await nats.connect(nats_server)
    try:
        await wait_until_answering(nc)  # its subscriptions have reached the server
        replies = await asyncio.gather(*(request(nc, "ledger.cmd.account.open",
                                                 f'{{"account": "G{n}", "email": "g@example.com"}}'.encode())
                                         for n in range(24)))
        assert all("ok" in r for r in replies), replies
        assert ledger.store.recorder.max_notification_id() == 24
        if group_commit:
            assert command_concurrency(ledger) > 1 and counter.most > 1
        else:
            assert command_concurrency(ledger) == 1 and counter.most == 1
    finally:
        await nc.close()
        await broker.stop()
        ledger.close()
