"""A durable JetStream consumer loop shared by the workers.

Each worker has its own durable pull consumer on LEDGER_EVENTS (explicit acks, ``max_deliver`` attempts).
A failing event is NAKed with a growing delay (1 s, 5 s, 30 s, 2 min ...); after ``max_deliver`` attempts the
server stops redelivering it and publishes a MAX_DELIVERIES advisory, which the ``LEDGER_DLQ`` stream keeps
for operators. Messages are handled one at a time, in stream order. Every event id is recorded in the inbox
after it is handled, so a restart, a redelivery or a replay from any stream position never acts twice.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from ledger.service.subjects import DLQ_STREAM, EVENTS_PREFIX, EVENTS_STREAM
from ledger.store.mapper import decode_event
from workers.inbox import Inbox

log = structlog.get_logger("ledger.workers")
BACKOFF = (1.0, 5.0, 30.0, 120.0, 600.0)


class Worker(Protocol):
    """Something that reacts to ledger events."""

    name: str
    #: Event type names it handles (others are acknowledged and skipped).
    wants: frozenset[str]

    async def handle(self, event: Any, event_id: str) -> None:
        """React to one event; raise to have it redelivered later."""
        ...


async def ensure_dlq_stream(js: JetStreamContext) -> None:
    """LEDGER_DLQ keeps the advisories of events that exhausted their deliveries (stream sequence inside)."""
    subject = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{EVENTS_STREAM}.*"
    try:
        await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=DLQ_STREAM, subjects=[subject], storage=StorageType.FILE))


async def consume(js: JetStreamContext, worker: Worker, inbox: Inbox, stop: asyncio.Event, *,
                  max_deliver: int = 5, batch: int = 20, backoff: tuple[float, ...] = BACKOFF,
                  ack_wait: float = 60.0) -> None:
    """Run ``worker`` on its durable consumer until ``stop`` is set; a message not acked within ``ack_wait``
    seconds (its worker died) is delivered again."""
    durable = f"ledger-{worker.name}"
    config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, max_deliver=max_deliver,
                            ack_wait=ack_wait, deliver_policy=DeliverPolicy.ALL, filter_subject=f"{EVENTS_PREFIX}>")
    subscription = await js.pull_subscribe(f"{EVENTS_PREFIX}>", durable=durable, stream=EVENTS_STREAM,
                                           config=config)
    while not stop.is_set():
        try:
            messages = await subscription.fetch(batch, timeout=1)
        except (NatsTimeout, TimeoutError):
            continue
        except Exception as error:
            log.warning("worker_fetch_failed", worker=worker.name, error=repr(error))
            await asyncio.sleep(1)
            continue
        for message in messages:
            await handle_message(worker, inbox, message, backoff)


async def handle_message(worker: Worker, inbox: Inbox, message: Any, backoff: tuple[float, ...]) -> None:
    """Handle one delivered message: skip if done, act, record, ack; NAK with delay on failure."""
    headers = message.headers or {}
    event_id = headers.get("Nats-Msg-Id", "")
    event_type = headers.get("Ledger-Event-Type", "")
    position = headers.get("Ledger-Position")
    if event_type not in worker.wants or inbox.status(worker.name, event_id) == "done":
        await message.ack()
        return
    try:
        event = decode_event(f"{event_type}:{headers.get('Ledger-Event-Version', '1')}", message.data)
        await worker.handle(event, event_id)
    except Exception as error:
        attempt = message.metadata.num_delivered
        delay = backoff[min(attempt - 1, len(backoff) - 1)]
        log.warning("worker_failed", worker=worker.name, event_id=event_id, log_position=position,
                    attempt=attempt, retry_in=delay, error=repr(error))
        await message.nak(delay=delay)
        return
    inbox.mark(worker.name, event_id, "done")
    await message.ack()
    log.info("worker_handled", worker=worker.name, event_type=event_type, event_id=event_id, log_position=position,
             account=str(getattr(event, "originator_id", "")))
