"""A durable JetStream consumer loop shared by the workers.

Each worker has its own durable pull consumer on LEDGER_EVENTS (explicit acks, ``max_deliver`` attempts).
A failing event is NAKed with a growing delay (1 s, 5 s, 30 s, 2 min ...); after ``max_deliver`` attempts the
server stops redelivering it and publishes a MAX_DELIVERIES advisory, which the ``LEDGER_DLQ`` stream keeps
for operators. Messages are handled one at a time, in stream order.

Every event id is claimed in the inbox before the worker acts and marked done after, so a restart, a
redelivery or a replay from any stream position never acts twice; an attempt that died between the two leaves
the event claimed, and a worker whose action must not be repeated (an email over SMTP) then records it in
``LEDGER_DLQ`` as uncertain instead of sending it again: at most once, and every doubt visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol

import msgspec
import structlog
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from ledger.aggregates.events.base import Event, event_uuid
from ledger.commands.messages import Command, Outcome
from ledger.nats_api.dead_letters import UncertainRecord
from ledger.nats_api.subjects import EVENTS_PREFIX, EVENTS_STREAM
from ledger.ports.mailer import DeliveryUncertain
from ledger.store.mapper import decode_event
from workers.inbox import CLAIMED, DONE, FAILED, UNCERTAIN, Inbox
from workers.streams import ensure_dlq_stream, ensure_events_stream

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.workers")
BACKOFF = (1.0, 5.0, 30.0, 120.0, 600.0)


def from_the_log(store: LedgerStore, event: Event, event_id: str) -> bool:
    """Whether ``event`` is the one the store holds at its aggregate and version, under ``event_id``: NATS
    lets any client with publish rights put a message on ``ledger.events.>``, and a worker acting on a forged
    one would email a customer, relink an order or charge a saved card."""
    if event_uuid(event.originator_id, event.originator_version) != event_id:
        return False
    stored = list(store.events.get(event.originator_id, gt=event.originator_version - 1,
                                   lte=event.originator_version))
    return len(stored) == 1 and stored[0] == event


def genuine_then_claimed(store: LedgerStore | None, event: Event, event_id: str, inbox: Inbox,
                         worker: str) -> tuple[bool, str | Exception | None]:
    """Whether the message is genuine (:func:`from_the_log`; no store: yes), then its claim (status before, or
    error raised) in one trip off the loop: a claim is an fsync, which on the loop kept requests waiting."""
    if store is not None and not from_the_log(store, event, event_id):
        return False, None
    try:
        return True, inbox.claim(worker, event_id)
    except Exception as error:  # raised by the caller outside its handling of a message it cannot read
        return True, error


class CommandService(Protocol):
    """Where a worker sends its commands: the ledger's command service (``Ledger.service``)."""

    def handle(self, command: Command) -> Outcome:
        """Run one command; a refusal raises a ``LedgerError``."""
        ...


class Worker(Protocol):
    """Something that reacts to ledger events."""

    name: str
    #: Event type names it handles: its consumer's subject filters (any other delivered is acknowledged and
    #: skipped).
    wants: frozenset[str]
    #: Whether acting on an event again after a crash mid-way is harmless (commands with idempotency keys,
    #: a Maildir keyed by message id) or could repeat an outside effect (an email over SMTP).
    repeatable: bool

    async def handle(self, event: Event, event_id: str) -> None:
        """React to one event; raise to have it redelivered later, DeliveryUncertain when the effect may have
        happened."""
        ...


async def record_uncertain(js: JetStreamContext | None, record: UncertainRecord) -> None:
    """Publish ``record`` to ``ledger.dlq.<worker>`` (deduplicated by worker and event id); the inbox already
    holds the status, so a failure here is only logged."""
    log.error("worker_outcome_uncertain", worker=record.worker, event_id=record.event_id,
              event_type=record.event_type, stream_seq=record.stream_seq, log_position=record.log_position,
              reason=record.reason)
    if js is None:
        return
    try:
        await js.publish(record.subject, msgspec.json.encode(record), timeout=5,
                         headers={"Nats-Msg-Id": record.message_id})
    except Exception as error:
        log.warning("dead_letter_publish_failed", worker=record.worker, event_id=record.event_id, error=repr(error))


def durable_name(worker: str) -> str:
    """The durable consumer of ``worker`` on LEDGER_EVENTS."""
    return f"ledger-{worker}"


def consumer_config(durable: str, max_deliver: int = 5, ack_wait: float = 30.0,
                    start_seq: int | None = None, wants: Collection[str] = ()) -> ConsumerConfig:
    """A worker's durable pull consumer: every event (or from stream sequence ``start_seq``), explicit acks;
    only the event types in ``wants`` when given (:func:`wanted_subjects`)."""
    policy = DeliverPolicy.ALL if start_seq is None else DeliverPolicy.BY_START_SEQUENCE
    subjects = wanted_subjects(wants)
    return ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, max_deliver=max_deliver,
                          ack_wait=ack_wait, deliver_policy=policy, opt_start_seq=start_seq,
                          filter_subject=None if subjects else f"{EVENTS_PREFIX}>", filter_subjects=subjects)


def wanted_subjects(wants: Collection[str]) -> list[str] | None:
    """The consumer's subject filters for the event types a worker ``wants`` (None: every event). The server then
    delivers a worker only what it acts on: a worker skipping the others itself cost serve a delivery, a decode
    and an ack per event and worker (three workers, most events wanted by none)."""
    return [f"{EVENTS_PREFIX}{event_type}.>" for event_type in sorted(wants)] or None


async def follow_wants(js: JetStreamContext, durable: str, config: ConsumerConfig) -> None:
    """Give the existing durable consumer ``config``'s subject filters if it has others (one created before
    workers were filtered, or by :func:`rewind`); its position and deliver policy are kept."""
    try:
        info = await js.consumer_info(EVENTS_STREAM, durable)
    except NotFoundError:
        return  # pull_subscribe creates it with config
    current = info.config
    if (current.filter_subjects or None, current.filter_subject) == (config.filter_subjects, config.filter_subject):
        return
    await js.add_consumer(EVENTS_STREAM, config=dataclasses.replace(
        current, filter_subject=config.filter_subject, filter_subjects=config.filter_subjects))
    log.info("worker_consumer_filtered", consumer=durable, subjects=config.filter_subjects or config.filter_subject)


async def rewind(js: JetStreamContext, worker: str, start_seq: int, *, max_deliver: int = 5,
                 ack_wait: float = 30.0) -> None:
    """Make ``worker`` replay the stream from sequence ``start_seq`` (its durable consumer is recreated there);
    the inbox keeps it from acting twice on what it already did."""
    durable = durable_name(worker)
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(EVENTS_STREAM, durable)
    await js.add_consumer(EVENTS_STREAM, config=consumer_config(durable, max_deliver, ack_wait, start_seq))
    log.info("worker_rewound", worker=worker, stream_seq=start_seq)


async def recreate_if_gone(js: JetStreamContext, worker: str, config: ConsumerConfig, error: Exception) -> bool:
    """After a failed fetch: when the worker's durable consumer (or the events stream with it) is gone (deleted
    by an operator, a server that lost its JetStream store), create them again, say so in one warning, and
    return True; False when they are there (the failure was something else). A re-created consumer starts from
    the stream's first message; the inbox keeps the worker from acting twice."""
    try:
        await js.consumer_info(EVENTS_STREAM, durable_name(worker))
        return False
    except NotFoundError:
        pass
    stream_gone = False
    try:
        await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        stream_gone = True
        await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    await js.add_consumer(EVENTS_STREAM, config=config)
    log.warning("worker_consumer_recreated", worker=worker, consumer=durable_name(worker), stream=EVENTS_STREAM,
                stream_recreated=stream_gone, after=repr(error))
    return True


async def consume(js: JetStreamContext, worker: Worker, inbox: Inbox, stop: asyncio.Event, *,
                  max_deliver: int = 5, batch: int = 10, backoff: tuple[float, ...] = BACKOFF,
                  ack_wait: float = 30.0) -> None:
    """Run ``worker`` on its durable consumer until ``stop`` is set. The message in hand is finished before
    stopping and the other fetched ones are handed back (NAK) for another instance or the next start; those
    held by a worker that died come back after ``ack_wait`` seconds."""
    durable = durable_name(worker.name)
    config = consumer_config(durable, max_deliver, ack_wait, wants=worker.wants)
    await follow_wants(js, durable, config)
    subscription = await js.pull_subscribe(f"{EVENTS_PREFIX}>", durable=durable, stream=EVENTS_STREAM, config=config)
    while not stop.is_set():
        try:
            messages = await subscription.fetch(batch, timeout=1)
        except (NatsTimeout, TimeoutError):
            continue
        except Exception as error:
            try:
                recreated = await recreate_if_gone(js, worker.name, config, error)
            except Exception as failure:  # the server still away: try again in a second
                log.warning("worker_fetch_failed", worker=worker.name, error=repr(error), recreate=repr(failure))
                recreated = False
            if recreated:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
                subscription = await js.pull_subscribe(f"{EVENTS_PREFIX}>", durable=durable, stream=EVENTS_STREAM,
                                                       config=config)
                continue
            log.warning("worker_fetch_failed", worker=worker.name, error=repr(error))
            await asyncio.sleep(1)
            continue
        for message in messages:
            if stop.is_set():  # hand the rest back at once rather than after ack_wait
                with contextlib.suppress(Exception):
                    await message.nak()
                continue
            await handle_message(worker, inbox, message, backoff, js)


async def handle_message(worker: Worker, inbox: Inbox, message: Msg, backoff: tuple[float, ...],
                         js: JetStreamContext | None = None) -> None:
    """Handle one delivered message: claim it in the inbox, act, record, ack; NAK with a delay on failure.

    A message already done (a redelivery, a replay) is only acknowledged. One found claimed by an attempt that
    died mid-way is done again if the worker is ``repeatable``, else recorded as uncertain and acknowledged.
    """
    headers = message.headers or {}
    event_id = headers.get("Nats-Msg-Id", "")
    event_type = headers.get("Ledger-Event-Type", "")
    position = int(headers["Ledger-Position"]) if headers.get("Ledger-Position", "").isdigit() else None
    if event_type not in worker.wants:
        await message.ack()
        return

    def uncertain(reason: str) -> UncertainRecord:
        inbox.mark(worker.name, event_id, UNCERTAIN)
        return UncertainRecord(worker.name, event_id, event_type, message.metadata.sequence.stream,
                               position, reason)

    async def failed(error: Exception) -> None:
        inbox.mark(worker.name, event_id, FAILED)
        attempt = message.metadata.num_delivered
        delay = backoff[min(attempt - 1, len(backoff) - 1)]
        log.warning("worker_failed", worker=worker.name, event_id=event_id, log_position=position,
                    attempt=attempt, retry_in=delay, error=repr(error))
        await message.nak(delay=delay)

    relevant = getattr(worker, "relevant", None)
    try:  # before the claim: checking the message has no outside effect, so a kill here leaves no doubt
        event = decode_event(f"{event_type}:{headers.get('Ledger-Event-Version', '1')}", message.data)
        if relevant is not None and not relevant(event):  # calls for nothing: no store read, no inbox row
            await message.ack()
            return
        genuine, claimed = await asyncio.to_thread(genuine_then_claimed, getattr(worker, "store", None), event,
                                                   event_id, inbox, worker.name)
    except Exception as error:
        await failed(error)
        return
    if not genuine:
        log.error("foreign_message_ignored", worker=worker.name, event_id=event_id,
                  stream_seq=message.metadata.sequence.stream, event_type=event_type)
        await message.ack()
        return
    if isinstance(claimed, BaseException):
        raise claimed
    if claimed in (DONE, UNCERTAIN):  # the status before this delivery
        await message.ack()
        return
    if claimed == CLAIMED and not worker.repeatable:
        await record_uncertain(js, uncertain("a previous attempt stopped mid-way"))
        await message.ack()
        return
    try:
        await worker.handle(event, event_id)
    except DeliveryUncertain as error:
        await record_uncertain(js, uncertain(str(error)))
        await message.ack()
        return
    except Exception as error:
        await failed(error)
        return
    await asyncio.to_thread(inbox.mark, worker.name, event_id, DONE)
    await message.ack()
    log.info("worker_handled", worker=worker.name, event_type=event_type, event_id=event_id, log_position=position,
             aggregate=str(getattr(event, "originator_id", "")))  # the account's UUID: its id is not in every event
