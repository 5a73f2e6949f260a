"""The relay: follows the notification log and publishes every event to JetStream, exactly once, in order.

* One message per event on ``ledger.events.<EventType>.<account aggregate id>``; the body is the event's
  public JSON (the msgspec Struct, schema in ``docs/schema/``); headers ``Nats-Msg-Id`` (the event id),
  ``Ledger-Position`` (log position), ``Ledger-Event-Type``, ``Ledger-Event-Version`` and ``Ledger-Account``
  (the account's business id, so a subscriber needs no table from aggregate ids to accounts; absent on a guest
  payment's events until it is matched to an account, which ``PaymentMatched`` names).
* Crash-safe without its own state: it resumes after the position found in the stream's last message.
* Pipelined: a batch is published with ``publish_async`` and every ack awaited with a timeout.
* Never reorders or loses: each message carries ``Nats-Expected-Last-Msg-Id`` (the previous event id), so the
  server refuses a message whose predecessor is missing; the relay then re-reads its position from the
  stream and publishes again from there. Duplicates (an ack lost after the store) are absorbed by dedup.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote
from uuid import UUID

import structlog
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import event_uuid
from ledger.nats_api.subjects import EVENTS_STREAM, event_subject
from ledger.store.log_reader import CommittedLog, Note
from ledger.store.mapper import decode_event, encode_event, plain_state
from workers.streams import ensure_events_stream

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.relay")
POSITION = "Ledger-Position"
ACCOUNT = "Ledger-Account"
#: How far back from the stream's tail the relay looks for its own last message past foreign ones.
FOREIGN_SCAN = 1000


#: Printable ASCII but ``%``: kept as is in a header value; anything else is percent-encoded.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def header_text(value: str) -> str:
    """``value`` as a NATS header value: header values are ASCII, while a business id may hold any printable
    character, so it is percent-encoded as UTF-8 outside printable ASCII (RFC 3986; ``ACC1`` stays ``ACC1``,
    ``ACC-é`` becomes ``ACC-%C3%A9``, ``%`` itself ``%25``): any URL decoder reads it back."""
    return quote(value, safe=_HEADER_SAFE)


class RelayError(RuntimeError):
    """A batch was not fully stored; the relay re-reads its position and tries again."""


class Relay:
    """Publishes the store's log to JetStream."""

    def __init__(self, store: LedgerStore, js: JetStreamContext, *, batch: int = 1000,
                 ack_timeout: float = 10.0) -> None:
        self.store = store
        self.js = js
        self.batch = batch
        self.ack_timeout = ack_timeout
        self._position: int | None = None
        self._last_id: str | None = None
        self._unchained = False  # the stream's tail is not the relay's: publish the next without the chain
        self._accounts: dict[UUID, str | None] = {}  # aggregate id -> business account id (None: not an account)
        self.log = CommittedLog(store)  # never passes a notification that may still commit (PostgreSQL)

    async def stream_position(self) -> tuple[int, str | None]:
        """(log position, event id) of the relay's last message in the stream; (0, None) when it has none.

        Only the relay should publish on ``ledger.events.>``, but the server lets anyone with publish rights
        do it. A message without ``Ledger-Position`` at the tail (or a deleted tail) is stepped over, up to
        ``FOREIGN_SCAN`` messages back, and logged; the next message then goes without
        ``Nats-Expected-Last-Msg-Id``, which the foreign message would fail, and dedup still guards it. So is a
        message whose ``Ledger-Position`` and ``Nats-Msg-Id`` do not name this ledger's event at that position
        (forged, or another ledger's on the same NATS): trusting it would skip events, or publish none.
        """
        info = await self.js.stream_info(EVENTS_STREAM)
        if info.state.last_seq == 0 or info.state.messages == 0:
            return 0, None
        first = max(info.state.first_seq, info.state.last_seq - FOREIGN_SCAN)
        for seq in range(info.state.last_seq, first - 1, -1):
            try:
                message = await self.js.get_msg(EVENTS_STREAM, seq)
            except NotFoundError:  # deleted
                continue
            headers = message.headers or {}
            if POSITION in headers and headers[POSITION].isdigit():
                position, event_id = int(headers[POSITION]), headers.get("Nats-Msg-Id")
                if await self._ours(position, event_id):
                    if seq != info.state.last_seq:
                        self._unchained = True
                    return position, event_id
            log.error("foreign_message_in_events_stream", stream_seq=seq, subject=message.subject,
                      claimed_position=headers.get(POSITION))
            self._unchained = True
        raise RelayError(f"no relayed message in the last {FOREIGN_SCAN} of {EVENTS_STREAM}: "
                         "the stream is not the ledger's")

    async def _ours(self, position: int, event_id: str | None) -> bool:
        """Is ``event_id`` the id of this ledger's event at ``position``?"""
        notes = await asyncio.to_thread(self.log.read_raw, position - 1, 1) if position > 0 else []
        return bool(notes) and notes[0].id == position and event_id == str(
            event_uuid(notes[0].originator_id, notes[0].originator_version))

    async def publish_batch(self) -> int:
        """Publish the next batch of events; returns how many were stored (0 when caught up)."""
        if self._position is None:
            self._position, self._last_id = await self.stream_position()
        notes = await asyncio.to_thread(self.log.read_raw, self._position, self.batch)
        if not notes:
            return 0
        accounts = await asyncio.to_thread(self.accounts_of, notes)
        futures = []
        previous = self._last_id
        mapper = self.store.mapper
        for note, account in zip(notes, accounts, strict=True):
            event_id = event_uuid(note.originator_id, note.originator_version)
            name, _, version = note.topic.partition(":")
            body = note.state if not (mapper.cipher or mapper.compressor) else encode_event(
                decode_event(note.topic, plain_state(mapper, note.state)))
            headers = {"Nats-Msg-Id": event_id, POSITION: str(note.id), "Ledger-Event-Type": name,
                       "Ledger-Event-Version": version or "1"}
            if account is not None:
                headers[ACCOUNT] = header_text(account)
            if previous is not None and not self._unchained:
                headers["Nats-Expected-Last-Msg-Id"] = previous
            self._unchained = False
            futures.append(await self.js.publish_async(event_subject(name, str(note.originator_id)), body,
                                                       headers=headers))
            previous = event_id
        try:
            acks = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), self.ack_timeout)
        except TimeoutError:
            self._position = None
            raise RelayError("acks timed out") from None
        failed = [a for a in acks if isinstance(a, BaseException)]
        if failed:
            self._position = None  # re-read the truth from the stream
            raise RelayError(f"{len(failed)} of {len(acks)} messages not stored: {failed[0]!r}")
        self._position, self._last_id = notes[-1].id, previous
        log.info("relayed", events=len(notes), log_position=self._position, event_id=previous)
        return len(notes)

    async def recreate_if_gone(self, error: Exception) -> bool:
        """After a failure: when LEDGER_EVENTS is gone (deleted, a server that lost its JetStream store), create
        it again, say so in one warning and return True (the relay then publishes the log from its start, which
        the workers' inboxes keep from being acted on twice); False when it is there."""
        try:
            await self.js.stream_info(EVENTS_STREAM)
            return False
        except NotFoundError:
            pass
        await ensure_events_stream(self.js)
        log.warning("events_stream_recreated", stream=EVENTS_STREAM, after=repr(error))
        return True

    def accounts_of(self, notes: Sequence[Note]) -> list[str | None]:
        """The business account id of each note's aggregate (blocking: it may read the store).

        An account's is in its first event, ``AccountOpened``: decoded when it passes (and, for an account the
        relay has not met since it started, read from the store once). A guest payment awaiting research has
        none until ``PaymentMatched`` names the account it lands on; a portal login's is the account holding it
        (``LoginClaimed``).
        """
        if len(self._accounts) > 100_000:
            self._accounts.clear()
        found: list[str | None] = []
        for note in notes:
            name = note.topic.partition(":")[0]
            if name in ("AccountOpened", "PaymentMatched", "LoginClaimed"):
                event = decode_event(note.topic, plain_state(self.store.mapper, note.state))
                account: str | None = (event.account_id if isinstance(
                    event, ev.AccountOpened | ev.PaymentMatched | ev.LoginClaimed) else None)
                if name in ("AccountOpened", "LoginClaimed"):
                    self._accounts[note.originator_id] = account
            elif note.originator_id in self._accounts:
                account = self._accounts[note.originator_id]
            else:
                first = next(iter(self.store.events.get(note.originator_id, lte=1)), None)
                account = first.account_id if isinstance(first, ev.AccountOpened | ev.LoginClaimed) else None
                self._accounts[note.originator_id] = account
            found.append(account)
        return found

    def close(self) -> None:
        """Release the log reader's connections."""
        self.log.close()

    async def run(self, stop: asyncio.Event, idle: float = 0.2) -> None:
        """Relay until ``stop`` is set; failures back off and resume from the stream's position."""
        delay = idle
        while not stop.is_set():
            try:
                published = await self.publish_batch()
                delay = idle
            except Exception as error:
                self._position = None
                with contextlib.suppress(Exception):  # the server away: the next round tries again
                    if await self.recreate_if_gone(error):
                        continue
                log.warning("relay_retry", error=repr(error))
                published = 0
                delay = min(delay * 2, 5.0)
            if published == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)


async def run_standalone(store: LedgerStore, url: str, batch: int = 1000, **connect: object) -> None:
    """Connect (``connect``: nats-py options, the relay's credential), make sure the stream exists, relay until
    the process is stopped."""
    import signal

    from ledger.natsserver import connect_until_stopped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nc = await connect_until_stopped(url, stop, max_reconnect_attempts=-1, **connect)
    if nc is None:
        return
    js = nc.jetstream()
    await ensure_events_stream(js)
    relay = Relay(store, js, batch=batch)
    try:
        await relay.run(stop)
    finally:
        relay.close()
        await nc.close()
