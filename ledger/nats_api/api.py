"""The command and read APIs over NATS request/reply.

Every request body is JSON validated by msgspec into the command's Struct (unknown fields, wrong types and
floats for amounts are refused); every reply is ``{"ok": ...}`` or ``{"error": {"code", "field",
"message"}}``. Bad input never stops the service and never writes anything.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import ssl
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from faststream.nats.security import NatsUserPassword

from ledger.bootstrap import Ledger
from ledger.cards import card_number_in_text
from ledger.commands.batching import BatchingService
from ledger.commands.messages import Command
from ledger.commands.self_service import SELF_SERVICE, guest_may
from ledger.errors import LedgerError, ValidationError
from ledger.identity.binding import Binder, Caller, caller_of
from ledger.identity.roles import PORTAL_PREFIX, STAFF_PREFIX
from ledger.nats_api.admission import Admission, CommandIntake
from ledger.nats_api.subjects import COMMAND_PREFIX, COMMANDS, MAX_PAYLOAD, QUEUE_GROUP, READ_PREFIX, READS
from ledger.natsserver import log_nats_error
from ledger.ports.clock import business_date
from ledger.projections import queries
from ledger.projections.audit_queries import audit_search
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.unpaid import unpaid
from ledger.views import stored_account_view

T = TypeVar("T")
log = structlog.get_logger("ledger.service")
_encode = msgspec.json.Encoder().encode
#: Threads deciding commands at once in one instance with group commit (they mostly wait for the committer).
MAX_COMMAND_THREADS = 64


def error_reply(error: LedgerError) -> bytes:
    """``{"error": {"code", "field", "message"}}``."""
    return _encode({"error": error.to_dict()})


def internal_reply(subject: str, error: BaseException) -> bytes:
    """The reply to a failure that is not a refusal (a bug, the store unavailable): logged with its traceback,
    answered with code ``internal`` so the requester is told at once instead of waiting for its timeout."""
    reference = uuid.uuid4().hex[:12]
    log.error("request_failed", subject=subject, reference=reference, error=repr(error), exc_info=error)
    return error_reply(LedgerError(f"internal error (reference {reference}), see the service log",
                                   code="internal"))


def decode(body: bytes, kind: type[T]) -> T:
    """Validate a JSON body into ``kind``; a ValidationError names the offending field."""
    if len(body) > MAX_PAYLOAD:
        raise ValidationError(f"request body over {MAX_PAYLOAD} bytes", field="body", code="payload_too_large")
    try:
        decoded = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        if card_number_in_text(str(error)):  # an unknown field named by a card number: never echo it
            raise ValidationError("the body has a field that is not part of the command", field="body",
                                  code="invalid") from None
        raise ValidationError(str(error), field=_field_of(str(error)), code="invalid") from None
    except msgspec.DecodeError as error:
        raise ValidationError(f"malformed JSON: {error}", field="body", code="invalid_json") from None
    json.loads(body, object_pairs_hook=_single_keys)  # msgspec keeps the last of a repeated key
    return decoded


def _field_of(message: str) -> str:
    """The field a msgspec validation message points at: ``at `$.amount``` or an unknown field's own name."""
    where = message.rsplit("at `$.", 1)[-1].rstrip("`").split("[")[0] if "at `$." in message else ""
    if "unknown field `" in message:
        unknown = message.split("unknown field `", 1)[1].split("`", 1)[0]
        return f"{where}.{unknown}" if where else unknown
    return where or "body"


def _single_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are all different: a repeated key is refused, since readers of the same body
    disagree on which copy counts (msgspec takes the last, others the first)."""
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            shown = "body" if card_number_in_text(key) else key[:80]
            raise ValidationError(f"the key {shown!r} appears twice", field=shown, code="duplicate_key")
        seen[key] = value
    return seen


def handle_command(ledger: Ledger, name: str, body: bytes, bind: Callable[[Command], Command] | None = None) -> bytes:
    """Run the command named by the subject suffix, with the actor ``bind`` allows (its caller's credential:
    :mod:`ledger.identity.binding`); the reply bytes."""
    kind = COMMANDS.get(name)
    try:
        if kind is None:
            raise ValidationError(f"unknown command {name[:80]!r}", field="subject", code="unknown_command")
        command = decode(body, kind)
        outcome = ledger.service.handle(bind(command) if bind is not None else command)
    except LedgerError as error:
        return error_reply(error)
    except Exception as error:
        return internal_reply(f"{COMMAND_PREFIX}{name}", error)
    return _encode({"ok": outcome})


class ReadQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Parameters of the read API."""

    account: str | None = None
    status: str | None = None
    period: str | None = None
    year: int | None = None
    within_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 3
    #: ``audit_search``: the words to find (``account`` narrows it to one account) and how many of the newest.
    text: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 200


def handle_read(ledger: Ledger, keeper: ProjectionKeeper, view: str, body: bytes,
                check: Callable[[str, str | None], None] | None = None) -> bytes:
    """Answer a portal / CSR read from the aggregate (account) or the projections (tabs, dashboard); ``check``
    refuses a read its caller's credential does not allow."""
    try:
        if view not in READS:
            raise ValidationError(f"unknown view {view[:80]!r}", field="subject", code="unknown_view")
        query = decode(body or b"{}", ReadQuery)
        if check is not None:
            check(view, query.account)
        clock = ledger.ports.clock
        if view == "dashboard":
            keeper.catch_up(["accounts"])
            board: dict[str, Any] = {**queries.dashboard(keeper.connection("accounts"), clock.now(),
                                                         query.within_days, clock.zone),
                                     "reconciliation": ledger.store.gateway_book.board(clock.zone)}
            return _encode({"ok": board})
        if view == "audit_search":
            keeper.catch_up(["audit"])
            found = audit_search(keeper.connection("audit"), query.text or "", account_id=query.account,
                                 limit=query.limit, zone=clock.zone)
            return _encode({"ok": found})
        if not query.account:
            raise ValidationError("account is required", field="account")
        if view == "account":
            return _encode({"ok": stored_account_view(ledger.store, query.account, clock.zone, clock.now())})
        keeper.catch_up(["accounts"])
        db = keeper.connection("accounts")
        rows: list[queries.Row] | queries.Row
        if view == "balance":
            rows = queries.balance(db, query.account, business_date(clock.now(), clock.zone), clock.zone)
        elif view == "invoices":
            rows = queries.invoices(db, query.account, query.status)
        elif view == "unpaid":
            rows = unpaid(db, query.account, clock.zone)
        elif view == "payments":
            rows = queries.payments(db, query.account, clock.zone)
        elif view == "credits":
            rows = queries.credits(db, query.account, clock.zone)
        else:
            rows = queries.order_history(db, query.account, query.period, clock.now(), clock.zone, query.year)
        return _encode({"ok": rows})
    except LedgerError as error:
        return error_reply(error)
    except Exception as error:
        return internal_reply(f"{READ_PREFIX}{view}", error)


class _Delivered(Protocol):
    """What faststream hands a decoder: the message with its body."""

    body: bytes


async def _raw(msg: _Delivered) -> bytes:
    """faststream decoder that keeps the body as bytes (msgspec validates it, not pydantic)."""
    return msg.body


def command_concurrency(ledger: Ledger) -> int:
    """Commands in flight per instance: one with the plain service (writers to one store serialize anyway, and
    one at a time keeps each reply's latency predictable), many with group commit, whose point is to gather
    concurrent commands into one transaction."""
    if isinstance(ledger.service, BatchingService):
        return max(1, min(int(ledger.service.max_batch), MAX_COMMAND_THREADS))
    return 1


class LedgerBroker(NatsBroker):
    """faststream's broker serving the reads, with the command intake (:class:`CommandIntake`) on its
    connection, started and stopped with it."""

    def __init__(self, url: str, intake: CommandIntake, *, user: str | None = None, password: str = "",
                 inbox_prefix: str = "_INBOX", tls: ssl.SSLContext | None = None) -> None:
        security = None
        if user is not None:  # the credential, not one a URL may carry (faststream refuses both)
            security = NatsUserPassword(user, password, ssl_context=tls)
            url = re.sub(r"^(\w+://)[^@/]*@", r"\1", url)
        super().__init__(url, logger=None, error_cb=log_nats_error, security=security, inbox_prefix=inbox_prefix)
        self.intake = intake

    async def start(self) -> None:
        """Connect, start the read subscribers, then take commands."""
        await super().start()
        await self.intake.start(self.connection)

    async def stop(self, exc_type: type[BaseException] | None = None, exc_val: BaseException | None = None,
                   exc_tb: TracebackType | None = None) -> None:
        """Stop taking commands (those admitted are answered), then the rest."""
        await self.intake.stop()
        await super().stop(exc_type, exc_val, exc_tb)


def build_broker(ledger: Ledger, keeper: ProjectionKeeper, url: str, *, concurrency: int | None = None,
                 admission: Admission | None = None, binder: Binder | None = None, user: str | None = None,
                 password: str = "", inbox_prefix: str = "_INBOX", tls: ssl.SSLContext | None = None) -> NatsBroker:
    """A broker serving ``ledger.cmd.>`` and ``ledger.read.>`` in the queue group, and with a ``binder`` the
    portals' and staff's ``ledger.portal.*.`` and ``ledger.staff.*.`` subjects, each request bound to the actor
    its credential allows (:mod:`ledger.identity.binding`); ``user`` ... ``tls``: the ledger's own credential
    (:meth:`ledger.identity.credentials.Credentials.connect_options`).

    Commands run on worker threads, ``concurrency`` at a time (default :func:`command_concurrency`), behind
    ``admission`` (default: room for ``LEDGER_COMMAND_QUEUE`` waiting beyond those, deadlines defaulting to
    ``LEDGER_REQUEST_TIMEOUT``; :mod:`ledger.nats_api.admission`); reads run one at a time beside them (one
    subscription handles its messages in order; the keeper is one connection). Run several instances to scale
    out: the queue group gives each request to one of them.
    """
    workers = concurrency or command_concurrency(ledger)
    settings = ledger.settings
    admission = admission or Admission(workers + settings.command_queue, default_timeout=settings.request_timeout)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ledger-command")
    prefixes = [f"{PORTAL_PREFIX}*.", f"{STAFF_PREFIX}*."] if binder is not None else []

    def decide(subject: str, body: bytes, headers: dict[str, str] | None) -> bytes:
        caller, rest = caller_of(subject, headers)
        bind = functools.partial(binder.command, caller, self_service=SELF_SERVICE, guest_may=guest_may) \
            if binder is not None and caller.role != "admin" else None
        return handle_command(ledger, rest.split(".", 1)[1], body, bind)

    intake = CommandIntake(admission, pool, decide, error_reply, COMMAND_PREFIX, QUEUE_GROUP,
                           [f"{prefix}cmd.>" for prefix in prefixes])
    broker = LedgerBroker(url, intake, user=user, password=password, inbox_prefix=inbox_prefix, tls=tls)

    def bound(msg: NatsMessage) -> tuple[Caller, str, Binder | None]:
        caller, rest = caller_of(msg.raw_message.subject, msg.raw_message.headers)
        return caller, rest.split(".", 1)[1], binder if caller.role != "admin" else None

    async def reads(body: bytes, msg: NatsMessage) -> bytes:
        caller, view, binding = bound(msg)
        check = functools.partial(binding.read, caller) if binding else None
        return await asyncio.to_thread(handle_read, ledger, keeper, view, body, check)

    for prefix in ["ledger.", *prefixes]:
        broker.subscriber(f"{prefix}read.>", queue=QUEUE_GROUP, decoder=_raw)(reads)
    return broker
