"""Faults around the workers: a worker killed mid-batch, and the nats-server restarted under load."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nats
import pytest

from ledger.adapters.mailers import MemoryMailer
from ledger.commands import messages as m
from ledger.natsserver import NatsServerProcess
from ledger.ports.mailer import Email
from tests.ledger_fixtures import make_ledger, reset_streams
from workers.consumer import consume, ensure_dlq_stream
from workers.emails import EmailWorker
from workers.inbox import Inbox
from workers.relay import Relay, ensure_events_stream

pytestmark = pytest.mark.nats


def payments(ledger: Any, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="1.00", method="card",
                                              token="tok_visa", deposit=True))


class SlowMailer(MemoryMailer):
    async def send(self, email: Email) -> None:
        await asyncio.sleep(0.01)
        await super().send(email)


async def test_worker_killed_mid_batch_sends_no_email_twice(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    payments(ledger, 60)
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    relay = Relay(ledger.store, js)
    while await relay.publish_batch():
        pass
    mailer, inbox = SlowMailer(), Inbox(tmp_path / "inbox.db")
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
    for kill_after in (7, 23, 41):  # kill the worker task in the middle of a fetched batch, then restart
        stop = asyncio.Event()
        task = asyncio.create_task(consume(js, worker, inbox, stop, batch=20, ack_wait=2))
        while len(mailer.sent) < kill_after:
            await asyncio.sleep(0.005)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    stop = asyncio.Event()
    task = asyncio.create_task(consume(js, worker, inbox, stop, batch=20, backoff=(0.1,), ack_wait=2))
    for _ in range(400):
        if len(mailer.sent) >= 60:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # a late redelivery would show up as a duplicate here
    stop.set()
    await task
    ids = [e.message_id for e in mailer.sent]
    assert len(ids) == 60 and len(set(ids)) == 60
    await nc.close()
    ledger.close()


async def test_nats_server_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    with NatsServerProcess(tmp_path / "nats") as server:
        nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()
        await ensure_events_stream(js)
        await ensure_dlq_stream(js)
        stop = asyncio.Event()
        mailer, inbox = MemoryMailer(), Inbox(tmp_path / "inbox.db")
        relay_task = asyncio.create_task(Relay(ledger.store, js).run(stop, idle=0.05))
        worker_task = asyncio.create_task(consume(js, EmailWorker(ledger.store, mailer, ledger.ports.tokens),
                                                  inbox, stop, backoff=(0.1,)))
        payments(ledger, 30)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(server.restart)  # same port and store: JetStream data survives
        payments(ledger, 30, start=30)
        for _ in range(600):
            if len({e.message_id for e in mailer.sent}) >= 60:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(relay_task, worker_task, return_exceptions=True)
        info = await js.stream_info("LEDGER_EVENTS")
        assert info.state.messages == ledger.store.recorder.max_notification_id()
        ids = [e.message_id for e in mailer.sent]
        assert len(set(ids)) == 60 and len(ids) == 60
        await nc.close()
    ledger.close()


class BrokenWorker:
    name = "broken"
    wants = frozenset({"AccountOpened"})

    def __init__(self) -> None:
        self.attempts = 0

    async def handle(self, event: Any, event_id: str) -> None:
        self.attempts += 1
        raise RuntimeError("this worker always fails")


async def test_an_event_that_keeps_failing_ends_in_the_dead_letter_stream(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    relay = Relay(ledger.store, js)
    while await relay.publish_batch():
        pass
    worker, stop = BrokenWorker(), asyncio.Event()
    task = asyncio.create_task(consume(js, worker, Inbox(":memory:"), stop, max_deliver=3, backoff=(0.1,)))
    for _ in range(100):
        try:
            if (await js.stream_info("LEDGER_DLQ")).state.messages >= 1:
                break
        except Exception:
            pass
        await asyncio.sleep(0.1)
    stop.set()
    await task
    assert worker.attempts == 3
    advisory = await js.get_msg("LEDGER_DLQ", 1)
    assert b'"stream_seq":1' in advisory.data and b"ledger-broken" in advisory.data
    await nc.close()
    ledger.close()
