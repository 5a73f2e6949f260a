"""The relay on a real nats-server: every event exactly once, in order, across restarts and lost acks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from ledger.commands import messages as m
from ledger.nats_api.subjects import EVENTS_STREAM
from tests.ledger_fixtures import make_ledger, reset_streams
from workers.relay import Relay
from workers.streams import ensure_events_stream

pytestmark = pytest.mark.nats


def fill(ledger: object, accounts: int) -> None:
    for n in range(accounts):
        acc = f"R{n}"
        ledger.service.handle(m.OpenAccount(account=acc, email=f"r{n}@example.com"))  # type: ignore[attr-defined]
        ledger.service.handle(m.IssueInvoice(account=acc, invoice="I1", amount="10.00",  # type: ignore[attr-defined]
                                             date="2026-09-01", due="2026-09-30"))
        ledger.service.handle(m.SubmitPayment(account=acc, payment="P1", amount="12.00",  # type: ignore[attr-defined]
                                              method="card", token="tok_visa", distribute=True))


async def stream_positions(js: object) -> list[int]:
    info = await js.stream_info(EVENTS_STREAM)  # type: ignore[attr-defined]
    out = []
    for seq in range(1, info.state.last_seq + 1):
        msg = await js.get_msg(EVENTS_STREAM, seq)  # type: ignore[attr-defined]
        out.append(int(msg.headers["Ledger-Position"]))
    return out


async def test_every_event_once_in_order_across_restarts(tmp_path: Path, nats_server: str, store_backend: str) -> None:
    ledger = make_ledger(tmp_path)
    fill(ledger, 20)
    head = ledger.store.recorder.max_notification_id()
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    first = Relay(ledger.store, js, batch=7)
    await first.publish_batch()
    await first.publish_batch()
    second = Relay(ledger.store, js, batch=50)  # a restarted relay: no state but the stream
    while await second.publish_batch():
        pass
    positions = await stream_positions(js)
    assert positions == list(range(1, head + 1))
    msg = await js.get_msg(EVENTS_STREAM, 3)
    body = msgspec.json.decode(msg.data)
    assert msg.subject == f"ledger.events.{msg.headers['Ledger-Event-Type']}.{body['originator_id']}"
    assert msg.headers["Nats-Msg-Id"] == ledger.store.mapper.to_domain_event(
        ledger.store.recorder.select_notifications(start=3, limit=1)[0]).event_id
    again = Relay(ledger.store, js)
    again._position, again._last_id = 0, None  # forget everything: republish from the start
    await again.publish_batch()  # every message is a duplicate within the dedup window: nothing stored twice
    assert await stream_positions(js) == list(range(1, head + 1))
    await nc.close()
    ledger.close()


async def test_relay_following_concurrent_writers_keeps_log_order(tmp_path: Path, nats_server: str,
                                                                  store_backend: str) -> None:
    import asyncio
    import threading

    ledger = make_ledger(tmp_path)
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    stop = asyncio.Event()
    relay = Relay(ledger.store, js, batch=17)
    relaying = asyncio.create_task(relay.run(stop, idle=0.01))

    def writer(n: int) -> None:  # accounts of its own plus a shared one (concurrency conflicts, retried)
        for i in range(15):
            ledger.service.handle(m.OpenAccount(account=f"W{n}-{i}", email="w@example.com"))
            ledger.service.handle(m.IssueCredit(account="SHARED", credit=f"C{n}-{i}", amount="1.00"))

    ledger.service.handle(m.OpenAccount(account="SHARED", email="s@example.com"))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        await asyncio.sleep(0.05)
    logged = [n.id for n in ledger.store.recorder.select_notifications(start=1, limit=10**6)]
    for _ in range(200):
        if (await js.stream_info(EVENTS_STREAM)).state.messages >= len(logged):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await relaying
    relay.close()
    assert len(logged) == 1 + 4 * 15 * 2
    assert await stream_positions(js) == logged  # every event once, in log order, none skipped
    await nc.close()
    ledger.close()


async def relayed_once(tmp_path: Path, nats_server: str, accounts: int) -> tuple[Any, Any, Any]:
    """A ledger of ``accounts`` filled accounts whose events were relayed once to a fresh stream."""
    ledger = make_ledger(tmp_path)
    fill(ledger, accounts)
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    await Relay(ledger.store, js).publish_batch()
    return ledger, nc, js


async def test_a_foreign_message_at_the_tail_does_not_stop_the_relay(tmp_path: Path, nats_server: str) -> None:
    """Anyone with publish rights can put a message on ledger.events.>; the relay steps over it (and over a
    deleted tail) and goes on, every event still once and in order."""
    ledger, nc, js = await relayed_once(tmp_path, nats_server, 2)
    foreign = await js.publish("ledger.events.Test.x", b'{"hello": 1}')
    fill_more = make_ledger(tmp_path)  # the same store, another writer
    fill_more.service.handle(m.OpenAccount(account="LATE", email="late@example.com"))
    restarted = Relay(ledger.store, js)
    assert await restarted.publish_batch() == 1
    deleted = await js.publish("ledger.events.Test.y", b"{}")
    await js.delete_msg(EVENTS_STREAM, deleted.seq)
    fill_more.service.handle(m.OpenAccount(account="LATER", email="later@example.com"))
    again = Relay(ledger.store, js)
    assert await again.publish_batch() == 1
    info = await js.stream_info(EVENTS_STREAM)
    relayed = []
    for seq in range(1, info.state.last_seq + 1):
        if seq in (foreign.seq, deleted.seq):
            continue
        relayed.append(int((await js.get_msg(EVENTS_STREAM, seq)).headers["Ledger-Position"]))
    assert relayed == list(range(1, ledger.store.recorder.max_notification_id() + 1))
    fill_more.close()
    await nc.close()
    ledger.close()


async def test_a_forged_position_at_the_tail_does_not_make_the_relay_skip_events(tmp_path: Path,
                                                                                 nats_server: str) -> None:
    """A message claiming a position ahead of the log (forged, or another ledger's on the same NATS) is not this
    ledger's event there: the relay steps over it instead of resuming after it and never publishing."""
    ledger, nc, js = await relayed_once(tmp_path, nats_server, 1)
    head = ledger.store.recorder.max_notification_id()
    await js.publish("ledger.events.AccountOpened.x", b"{}",
                     headers={"Ledger-Position": str(head + 5), "Nats-Msg-Id": "forged"})
    for n in range(3):
        ledger.service.handle(m.OpenAccount(account=f"NEW{n}", email=f"new{n}@example.com"))
    assert await Relay(ledger.store, js).publish_batch() == 3
    ours = [p for p in await stream_positions(js) if p <= ledger.store.recorder.max_notification_id()]
    assert ours[-3:] == [head + 1, head + 2, head + 3]
    await nc.close()
    ledger.close()
