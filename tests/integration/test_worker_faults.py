"""Faults around the workers: a worker process killed while it sends (over SMTP and into the Maildir), the
nats-server restarted under load, an event that keeps failing. The first two on each event store, with
authorization on (each process and connection with its own role's credential)."""

from __future__ import annotations

import asyncio
import mailbox
import os
import random
import signal
import socket
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path
from typing import Any

import nats
import pytest
from aiosmtpd.controller import Controller

from ledger.adapters.mailers import MemoryMailer
from ledger.commands import messages as m
from ledger.identity.credentials import Credentials
from ledger.natsserver import NatsServerProcess
from tests.ledger_fixtures import make_ledger, reset_streams, store_env
from workers.consumer import consume
from workers.emails import EmailWorker
from workers.inbox import UNCERTAIN, Inbox
from workers.relay import Relay
from workers.streams import ensure_dlq_stream, ensure_events_stream

pytestmark = pytest.mark.nats


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def payments(ledger: Any, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="1.00", method="card",
                                              token="tok_visa", deposit=True))


class Collector:
    """An SMTP server's message handler that answers each message after a short pause (so a worker killed at
    a random instant is often killed while waiting for that answer: the uncertain case)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        await asyncio.sleep(0.02)
        self.ids.append(message_from_bytes(envelope.content)["Message-ID"].strip("<>").removesuffix("@ledger"))
        return "250 OK"


def worker_process(home: Path, url: str, smtp_port: int | None, log: Path | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEDGER_HOME": str(home), "NATS_URL": url, "LEDGER_LOG_FORMAT": "json",
           "LEDGER_WORKER_ACK_WAIT": "2", **store_env(home)}  # what a killed worker had fetched: back after 2 s
    env.pop("SMTP_HOST", None)
    if smtp_port is not None:
        env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
    with open(log or os.devnull, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "ledger", "worker", "emails"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


async def started(process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the worker process says it is running (its signal handlers are in place)."""
    for _ in range(600):
        if log.exists() and b'"worker_started"' in log.read_bytes():
            return
        assert process.poll() is None, "the worker exited"
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not start")


def maildir_ids(folder: Path) -> list[str]:
    try:  # the worker may be creating the Maildir (mail/, then cur/, new/, tmp/) right now
        return [m["Message-ID"].strip("<>").removesuffix("@ledger")
                for m in mailbox.Maildir(str(folder), create=False)]
    except (FileNotFoundError, mailbox.NoSuchMailboxError):
        return []


async def kill_worker_repeatedly(tmp_path: Path, url: str, transport: str, emails: int, kills: int) -> None:
    """Run the email worker as a process, SIGKILL it ``kills`` times while it sends, restart it, then check:
    no email twice; every email sent or, over SMTP only, reported uncertain (at most one per kill)."""
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    payments(ledger, emails)
    nc = await nats.connect(url)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    relay = Relay(ledger.store, js)
    while await relay.publish_batch():
        pass
    collector = Collector()
    controller = None
    if transport == "smtp":
        controller = Controller(collector, hostname="127.0.0.1", port=free_port())
        controller.start()

    def received() -> list[str]:
        return collector.ids if transport == "smtp" else maildir_ids(tmp_path / "mail")

    inbox = Inbox(tmp_path / "workers.db")
    try:
        rng = random.Random(kills)
        for target in sorted(rng.sample(range(1, emails), kills)):
            worker = worker_process(tmp_path, url, controller.port if controller else None)
            try:
                while len(received()) < target and worker.poll() is None:
                    await asyncio.sleep(0.002)
            finally:  # also when this test fails: a worker left running takes later tests' events
                worker.send_signal(signal.SIGKILL)
                worker.wait()
        log = tmp_path / "last-worker.log"
        worker = worker_process(tmp_path, url, controller.port if controller else None, log)
        try:
            await started(worker, log)
            for _ in range(600):
                if len(set(received()) | {e for _, e, _ in inbox.listed(UNCERTAIN)}) >= emails:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a late redelivery would show up as a duplicate here
        finally:
            worker.terminate()
            assert worker.wait(timeout=30) == 0  # SIGTERM: finishes the email in hand, stops cleanly
        ids = received()
        uncertain = {e for _, e, _ in inbox.listed(UNCERTAIN, "emails")}
        assert len(ids) == len(set(ids)), "an email was sent twice"
        assert len(set(ids) | uncertain) == emails
        if transport == "maildir":
            assert not uncertain  # the Maildir is keyed by message id: a resend after a crash is harmless
        assert len(uncertain) <= kills
        dead = (await js.stream_info("LEDGER_DLQ")).state.messages
        assert dead == len(uncertain)  # each one reported to operators in LEDGER_DLQ
    finally:
        inbox.close()
        if controller is not None:
            controller.stop()
        await nc.close()
        ledger.close()


@pytest.mark.usefixtures("store_backend")
@pytest.mark.parametrize("transport", ["smtp", "maildir"])
async def test_worker_process_killed_mid_send_never_sends_an_email_twice(tmp_path: Path, nats_server: str,
                                                                         transport: str) -> None:
    await kill_worker_repeatedly(tmp_path, nats_server, transport, emails=40, kills=3)


@pytest.mark.slow
@pytest.mark.usefixtures("store_backend")
@pytest.mark.parametrize("transport", ["smtp", "maildir"])
async def test_worker_process_killed_many_times(tmp_path: Path, nats_server: str, transport: str) -> None:
    await kill_worker_repeatedly(tmp_path, nats_server, transport, emails=300, kills=25)


#: The admin (the streams' set-up, as serve does it), the relay and the email worker, each with its credential.
ROLES = (("admin", ""), ("relay", ""), ("worker", "emails"))


@pytest.mark.usefixtures("store_backend")
async def test_nats_server_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    credentials = Credentials(tmp_path / "nats").ensure()
    with NatsServerProcess(tmp_path / "nats", config=credentials.config_path) as server:  # authorization on
        connections = [await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                                          **credentials.connect_options(*role)) for role in ROLES]
        nc, relay_js, worker_js = connections[0], connections[1].jetstream(), connections[2].jetstream()
        js = nc.jetstream()
        await ensure_events_stream(js)
        await ensure_dlq_stream(js)
        stop = asyncio.Event()
        mailer, inbox = MemoryMailer(), Inbox(tmp_path / "inbox.db")
        relay_task = asyncio.create_task(Relay(ledger.store, relay_js).run(stop, idle=0.05))
        worker_task = asyncio.create_task(consume(worker_js, EmailWorker(ledger.store, mailer, ledger.ports.tokens),
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
        for each in connections:
            await each.close()
    ledger.close()


class BrokenWorker:
    name = "broken"
    wants = frozenset({"AccountOpened"})
    repeatable = True

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
