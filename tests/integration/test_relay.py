"""The relay on a real nats-server: every event exactly once, in order, across restarts and lost acks."""

from __future__ import annotations

from pathlib import Path

import msgspec
import nats
import pytest

from ledger.commands import messages as m
from ledger.service.subjects import EVENTS_STREAM
from tests.ledger_fixtures import make_ledger, reset_streams
from workers.relay import Relay, ensure_events_stream

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


async def test_every_event_once_in_order_across_restarts(tmp_path: Path, nats_server: str) -> None:
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
