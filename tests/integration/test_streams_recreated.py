"""Issue 15: a worker whose durable consumer was deleted (or whose stream went with it) and a relay whose stream
was deleted create them again, with one warning each, and carry on; before, the email worker failed once a
second (ServiceUnavailableError) and sent nothing until ``serve`` restarted. Real nats-server; the relay and the
worker connect with their own credentials, which may create a missing stream but not update or delete one
(issue 17), and the admin deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from ledger.adapters.mailers import MemoryMailer
from ledger.commands import messages as m
from ledger.identity.credentials import Credentials
from ledger.nats_api.subjects import DLQ_STREAM, EVENTS_STREAM
from tests.ledger_fixtures import captured_logs, fresh_streams, make_ledger
from workers.consumer import consume, durable_name
from workers.emails import EmailWorker
from workers.inbox import Inbox
from workers.relay import Relay
from workers.streams import DLQ_SUBJECTS, ensure_dlq_stream, provision_streams

pytestmark = pytest.mark.nats


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert condition()


def invoice(ledger: Any, n: int) -> None:
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"I{n}", amount="5.00", date="2026-09-01",
                                         due="2026-09-30"))


@pytest.mark.parametrize("lost", ["consumer", "stream"])
async def test_the_email_worker_recreates_its_consumer_and_stream(tmp_path: Path, nats_server: str, lost: str,
                                                                  nats_credentials: Credentials) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.SendInvitation(account="ACC1"))
    nc, js = await fresh_streams(nats_server)
    relay_nc = await nats.connect(nats_server, **nats_credentials.connect_options("relay"))
    worker_nc = await nats.connect(nats_server, **nats_credentials.connect_options("worker", "emails"))
    # The relay's first publish after the deletion is never acknowledged (its log: "acks timed out"); it retries
    # once its ack timeout passes: 10 s by default, which this test waited out. A timeout only means a retry.
    relay = Relay(ledger.store, relay_nc.jetstream(), ack_timeout=1.0)
    mailer = MemoryMailer()
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
    stop = asyncio.Event()
    with captured_logs() as logs:
        relaying = asyncio.create_task(relay.run(stop, idle=0.05))
        consuming = asyncio.create_task(consume(worker_nc.jetstream(), worker, Inbox(tmp_path / "inbox.db"), stop,
                                                backoff=(0.2,)))
        await until(lambda: len(mailer.sent) == 1)
        if lost == "consumer":
            await js.delete_consumer(EVENTS_STREAM, durable_name("emails"))
        else:
            await js.delete_stream(EVENTS_STREAM)
        await asyncio.sleep(1.5)  # a few fetches against nothing
        ledger.service.handle(m.ResendInvitation(account="ACC1"))
        await until(lambda: len(mailer.sent) == 2)
        stop.set()
        await asyncio.gather(relaying, consuming)
    for each in (nc, relay_nc, worker_nc):
        await each.close()
    ledger.close()
    assert len({e.message_id for e in mailer.sent}) == 2  # the first not sent again after the replay
    recreated = [line for line in logs if line["event"] == "worker_consumer_recreated"]
    assert len(recreated) == 1 and recreated[0]["log_level"] == "warning"
    assert recreated[0]["worker"] == "emails" and recreated[0]["stream_recreated"] == (lost == "stream")
    failures = [line for line in logs if line["event"] == "worker_fetch_failed"]
    assert len(failures) <= 1  # not one a second until a restart


async def test_the_relay_recreates_its_stream_and_publishes_the_log_again(tmp_path: Path, nats_server: str,
                                                                          nats_credentials: Credentials) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    invoice(ledger, 1)
    nc, js = await fresh_streams(nats_server)
    relay_nc = await nats.connect(nats_server, **nats_credentials.connect_options("relay"))
    relay = Relay(ledger.store, relay_nc.jetstream())
    stop = asyncio.Event()

    async def stored() -> int:
        try:
            return int((await js.stream_info(EVENTS_STREAM)).state.messages)
        except Exception:
            return -1

    counts: list[int] = []

    async def watch() -> None:
        while not stop.is_set():
            counts.append(await stored())
            await asyncio.sleep(0.05)

    with captured_logs() as logs:
        relaying = asyncio.create_task(relay.run(stop, idle=0.05))
        watching = asyncio.create_task(watch())
        await until(lambda: bool(counts) and counts[-1] == 2)
        await js.delete_stream(EVENTS_STREAM)
        invoice(ledger, 2)
        await until(lambda: counts[-1] == 3)
        stop.set()
        await asyncio.gather(relaying, watching)
    await relay_nc.close()
    await nc.close()
    ledger.close()
    recreated = [line for line in logs if line["event"] == "events_stream_recreated"]
    assert len(recreated) == 1 and recreated[0]["log_level"] == "warning"


async def test_an_older_dead_letter_stream_is_brought_up_to_date_by_serve_alone(nats_server: str,
                                                                                 nats_credentials: Credentials) -> None:
    """LEDGER_DLQ made by an older release (the advisories only): a worker, which may not update a stream, starts
    and says so; serve's set-up over the admin's credential gives it the records' subjects too."""
    nc, js = await fresh_streams(nats_server)
    await js.delete_stream(DLQ_STREAM)
    older = [DLQ_SUBJECTS[0]]
    await js.add_stream(StreamConfig(name=DLQ_STREAM, subjects=older, storage=StorageType.FILE))
    worker_nc = await nats.connect(nats_server, **nats_credentials.connect_options("worker", "emails"))
    with captured_logs() as logs:
        await ensure_dlq_stream(worker_nc.jetstream())
    await worker_nc.close()
    assert [line["event"] for line in logs] == ["dlq_stream_outdated"]
    assert (await js.stream_info(DLQ_STREAM)).config.subjects == older
    await provision_streams(nats_server, asyncio.Event(), nats_credentials)
    assert sorted((await js.stream_info(DLQ_STREAM)).config.subjects or []) == sorted(DLQ_SUBJECTS)
    await nc.close()
