"""The command and read APIs over NATS request/reply.

Every request body is JSON validated by msgspec into the command's Struct (unknown fields, wrong types and
floats for amounts are refused); every reply is ``{"ok": ...}`` or ``{"error": {"code", "field",
"message"}}``. Bad input never stops the service and never writes anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage

from ledger.bootstrap import Ledger
from ledger.errors import LedgerError, ValidationError
from ledger.ports.ids import account_uuid
from ledger.projections import queries
from ledger.projections.keeper import ProjectionKeeper
from ledger.service.subjects import COMMAND_PREFIX, COMMANDS, MAX_PAYLOAD, QUEUE_GROUP, READ_PREFIX, READS
from ledger.views import account_view

log = structlog.get_logger("ledger.service")
_encode = msgspec.json.Encoder().encode


def error_reply(error: LedgerError) -> bytes:
    """``{"error": {"code", "field", "message"}}``."""
    return _encode({"error": error.to_dict()})


def decode(body: bytes, kind: type[Any]) -> Any:
    """Validate a JSON body into ``kind``; a ValidationError names the offending field."""
    if len(body) > MAX_PAYLOAD:
        raise ValidationError(f"request body over {MAX_PAYLOAD} bytes", field="body", code="payload_too_large")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        text = str(error)
        field = text.rsplit("at `$.", 1)[-1].rstrip("`").split("[")[0] if "at `$." in text else None
        raise ValidationError(text, field=field or "body", code="invalid") from None
    except msgspec.DecodeError as error:
        raise ValidationError(f"malformed JSON: {error}", field="body", code="invalid_json") from None


def handle_command(ledger: Ledger, name: str, body: bytes) -> bytes:
    """Run the command named by the subject suffix; the reply bytes."""
    kind = COMMANDS.get(name)
    try:
        if kind is None:
            raise ValidationError(f"unknown command {name[:80]!r}", field="subject", code="unknown_command")
        outcome = ledger.service.handle(decode(body, kind))
    except LedgerError as error:
        return error_reply(error)
    return _encode({"ok": outcome})


class ReadQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Parameters of the read API."""

    account: str | None = None
    status: str | None = None
    period: str | None = None
    within_days: int = 3


def handle_read(ledger: Ledger, keeper: ProjectionKeeper, view: str, body: bytes) -> bytes:
    """Answer a portal / CSR read from the aggregate (account) or the projections (tabs, dashboard)."""
    try:
        if view not in READS:
            raise ValidationError(f"unknown view {view[:80]!r}", field="subject", code="unknown_view")
        query = decode(body or b"{}", ReadQuery)
        clock = ledger.ports.clock
        if view == "dashboard":
            keeper.catch_up(["accounts"])
            return _encode({"ok": queries.dashboard(keeper.connection("accounts"), clock.now(), query.within_days)})
        if not query.account:
            raise ValidationError("account is required", field="account")
        if view == "account":
            state = ledger.store.account(account_uuid(query.account)).state
            return _encode({"ok": account_view(state, clock.zone)})
        keeper.catch_up(["accounts"])
        db = keeper.connection("accounts")
        rows: Any
        if view == "invoices":
            rows = queries.invoices(db, query.account, query.status)
        elif view == "payments":
            rows = queries.payments(db, query.account)
        elif view == "credits":
            rows = queries.credits(db, query.account)
        else:
            rows = queries.order_history(db, query.account, query.period, clock.now(), clock.zone)
        return _encode({"ok": rows})
    except LedgerError as error:
        return error_reply(error)


async def _raw(msg: Any) -> Any:
    """faststream decoder that keeps the body as bytes (msgspec validates it, not pydantic)."""
    return msg.body


def build_broker(ledger: Ledger, keeper: ProjectionKeeper, url: str) -> NatsBroker:
    """A faststream NatsBroker serving ``ledger.cmd.>`` and ``ledger.read.>`` in the queue group."""
    broker = NatsBroker(url, logger=None)
    lock = asyncio.Lock()  # one command at a time per instance; run several instances to scale out

    @broker.subscriber(f"{COMMAND_PREFIX}>", queue=QUEUE_GROUP, decoder=_raw)
    async def commands(body: bytes, msg: NatsMessage) -> bytes:
        name = msg.raw_message.subject[len(COMMAND_PREFIX):]
        async with lock:
            reply = await asyncio.to_thread(handle_command, ledger, name, body)
        log.info("command_handled", subject=msg.raw_message.subject, ok=reply.startswith(b'{"ok"'))
        return reply

    @broker.subscriber(f"{READ_PREFIX}>", queue=QUEUE_GROUP, decoder=_raw)
    async def reads(body: bytes, msg: NatsMessage) -> bytes:
        view = msg.raw_message.subject[len(READ_PREFIX):]
        async with lock:
            return await asyncio.to_thread(handle_read, ledger, keeper, view, body)

    _ = (commands, reads)
    return broker
