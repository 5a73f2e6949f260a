"""The ledger's two JetStream streams, and who may set them up.

``LEDGER_EVENTS`` holds every event the relay publishes; ``LEDGER_DLQ`` what the workers could not finish.
Changing a stream that exists is the admin's right alone (:mod:`ledger.identity.roles`: shrinking its limits
would purge it), so ``serve`` provisions both over the admin's credential at its start
(:func:`provision_streams`). The relay and the workers only look them up and create one that is missing (an
operator deleted it, a server lost its store: issue 15); the server refuses to create a stream that exists with
another configuration, so that cannot change one either.
"""

from __future__ import annotations

import asyncio

import structlog
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from ledger.identity.credentials import Credentials
from ledger.nats_api.subjects import DLQ_PREFIX, DLQ_STREAM, EVENTS_PREFIX, EVENTS_STREAM
from ledger.natsserver import connect_until_stopped

log = structlog.get_logger("ledger.workers")
DLQ_SUBJECTS = (f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{EVENTS_STREAM}.*", f"{DLQ_PREFIX}>")


async def ensure_events_stream(js: JetStreamContext, *, replicas: int = 1) -> None:
    """Create (or keep) the LEDGER_EVENTS stream: file storage, 2-minute dedup window, no discard."""
    config = StreamConfig(name=EVENTS_STREAM, subjects=[f"{EVENTS_PREFIX}>"], storage=StorageType.FILE,
                          duplicate_window=120, num_replicas=replicas)
    try:
        await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        await js.add_stream(config)


async def ensure_dlq_stream(js: JetStreamContext, *, provision: bool = False) -> None:
    """LEDGER_DLQ keeps the MAX_DELIVERIES advisories of events that exhausted their deliveries (the stream
    sequence inside) and the records of events a worker left ``uncertain`` (``ledger.dlq.<worker>``). Created
    when missing; one with an older release's subjects is updated only with ``provision`` (serve's admin
    connection: no other role may update a stream), else left as it is with a warning."""
    config = StreamConfig(name=DLQ_STREAM, subjects=list(DLQ_SUBJECTS), storage=StorageType.FILE)
    try:
        info = await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        await js.add_stream(config)
        return
    if sorted(info.config.subjects or []) != sorted(DLQ_SUBJECTS):
        if provision:
            await js.update_stream(config)
        else:
            log.warning("dlq_stream_outdated", subjects=info.config.subjects, fix="start ledger serve once")


async def provision_streams(url: str, stop: asyncio.Event, credentials: Credentials) -> None:
    """Create LEDGER_EVENTS and LEDGER_DLQ, or bring the DLQ's subjects up to date, over the admin's credential:
    no other role may update a stream (:mod:`ledger.identity.roles`)."""
    nc = await connect_until_stopped(url, stop, max_reconnect_attempts=-1, name="ledger-provision",
                                     **credentials.connect_options("admin"))
    if nc is not None:
        try:
            await ensure_events_stream(nc.jetstream())
            await ensure_dlq_stream(nc.jetstream(), provision=True)
        finally:
            await nc.close()
