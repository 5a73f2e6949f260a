"""The portal's one door into the ledger: requests on its NATS command and read API (``ledger.cmd.*``,
``ledger.read.*``), never the event store.

Every command names the customer the portal acts for as its actor (kind ``customer``, channel ``portal``).
Authenticating the portal itself to NATS (its own credential) and signing which account it acts for are
done here and only here, so the rest of the web app never sees how the ledger is reached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, TypeAlias, TypeVar

import msgspec
import nats
from nats.aio.client import Client

from ledger.commands.messages import Outcome
from ledger.errors import LedgerError
from ledger.identity.credentials import Credentials
from ledger.identity.roles import user_name
from ledger.identity.sessions import HEADER, Session, session_key, sign
from ledger.views import AccountView
from ledger.web.replies import Balance, CreditRow, HistoryRow, InvoiceRow, PaymentRow, Refusal, Reply, UnpaidRow

T = TypeVar("T")
#: A command's body: its fields by name (amounts as decimal strings, ``invoices`` an amount per invoice id).
CommandBody: TypeAlias = Mapping[str, str | int | bool | Mapping[str, str]]
#: The parameters of a read (``status``, ``period``, ``year``...); None values are left out.
QueryValue: TypeAlias = str | int | None
_encode = msgspec.json.Encoder().encode
_reply = msgspec.json.Decoder(Reply).decode
#: Seconds a request may take before the page says the ledger is unavailable (a card charge takes longest).
REQUEST_TIMEOUT = 20.0
#: Seconds a page waits for the first connection to NATS before saying the ledger is unavailable.
CONNECT_TIMEOUT = 5.0


class LedgerUnavailable(LedgerError):
    """The ledger did not answer over NATS (down, or too slow): nothing is known to have happened."""

    code = "ledger_unavailable"


def refusal(error: Refusal) -> LedgerError:
    """The typed error of a ``{"error": {...}}`` reply."""
    return LedgerError(error.message or "refused", field=error.field, code=error.code or "ledger_error")


#: Seconds a signed session header is good for (the ledger allows at most an hour).
SESSION_LIFETIME = 300


class PortalAccess(msgspec.Struct, frozen=True):
    """The portal's own NATS credential (``portal-<name>``): how it connects, and the key it signs the
    ``Ledger-Session`` header with (README, "Who may connect")."""

    name: str
    #: nats-py ``connect`` keywords, as :meth:`Credentials.connect_options` gives them.
    connect: dict[str, Any]
    key: bytes

    @classmethod
    def of(cls, credentials: Credentials, name: str = "web") -> PortalAccess:
        """The credential ``portal-<name>``, issued on first use."""
        if user_name("portal", name) not in credentials.users():
            credentials.issue("portal", name)
        options = credentials.connect_options("portal", name)
        return cls(name=name, connect=options, key=session_key(str(options["password"])))


class LedgerClient:
    """Commands and reads over NATS request/reply for the portal: with its credential (``access``) on
    ``ledger.portal.<name>.cmd|read.*``, each request signed for the customer it serves; without one (a test's
    unauthenticated nats-server) on ``ledger.cmd|read.*`` with the actor in the body."""

    def __init__(self, url: str, *, name: str = "ledger-portal", connect_timeout: float = CONNECT_TIMEOUT,
                 access: PortalAccess | None = None) -> None:
        self.url = url
        self.name = name
        self.connect_timeout = connect_timeout
        self.access = access
        self._nc: Client | None = None
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        """Connect within CONNECT_TIMEOUT seconds (nats-py would retry a first connection forever), then keep
        reconnecting for as long as the app runs."""
        self._nc = await asyncio.wait_for(
            nats.connect(self.url, name=self.name, max_reconnect_attempts=-1, allow_reconnect=True,
                         connect_timeout=2, **(self.access.connect if self.access else {})), self.connect_timeout)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def command(self, name: str, account: str, body: CommandBody, *, actor: str,
                      kind: str = "customer") -> Outcome:
        """Run ``ledger.cmd.<name>`` for ``account``, acting as the customer whose opaque login id is ``actor``
        (or a ``guest``); the command's Outcome, or the ledger's refusal raised as a :class:`LedgerError`."""
        payload = {**body, "account": account}
        if self.access is None:
            payload["actor"] = {"kind": kind, "name": actor, "channel": "portal"}
        signed = self._signed(kind, actor, account if kind == "customer" else "")
        return await self._request("cmd", name, payload, signed, Outcome)

    async def read(self, view: str, answer: type[T], *, account: str, **query: QueryValue) -> T:
        """``ledger.read.<view>`` of ``account`` with ``query`` (None values left out), decoded as ``answer``: a
        reply of another shape raises ``msgspec.ValidationError`` (a bug: the page answers 500)."""
        payload = {"account": account, **{k: v for k, v in query.items() if v is not None}}
        return await self._request("read", view, payload, self._signed("customer", "portal-reader", account), answer)

    async def account(self, account: str) -> AccountView:
        """The account as ``ledger account show`` shows it: contact, balances, methods, portal access."""
        return await self.read("account", AccountView, account=account)

    async def balance(self, account: str) -> Balance:
        """The dashboard's header of ``account``."""
        return await self.read("balance", Balance, account=account)

    async def invoices(self, account: str, status: str | None = None) -> list[InvoiceRow]:
        """The invoices tab, oldest first, of one ``status`` (or ``unpaid``) or all."""
        return await self.read("invoices", list[InvoiceRow], account=account, status=status)

    async def unpaid(self, account: str) -> list[UnpaidRow]:
        """What the customer can pay now: open invoices, then open orders with a balance due (seed 001)."""
        return await self.read("unpaid", list[UnpaidRow], account=account)

    async def payments(self, account: str) -> list[PaymentRow]:
        """The payments tab, newest first."""
        return await self.read("payments", list[PaymentRow], account=account)

    async def credits(self, account: str) -> list[CreditRow]:
        """The credits tab."""
        return await self.read("credits", list[CreditRow], account=account)

    async def history(self, account: str, period: str | None = None, year: int | None = None) -> list[HistoryRow]:
        """Order History: orders and invoices, newest first, within ``period`` (or ``year``) if given."""
        return await self.read("history", list[HistoryRow], account=account, period=period, year=year)

    def _signed(self, kind: str, name: str, account: str) -> dict[str, str]:
        """The ``Ledger-Session`` header vouching for the customer (or guest) this request serves."""
        if self.access is None:
            return {}
        session = Session(kind=kind, name=name, exp=int(time.time()) + SESSION_LIFETIME, account=account)
        return {HEADER: sign(self.access.key, session)}

    async def _request(self, kind: str, rest: str, payload: Mapping[str, QueryValue | bool | Mapping[str, str]],
                       headers: dict[str, str], answer: type[T]) -> T:
        subject = f"ledger.portal.{self.access.name}.{kind}.{rest}" if self.access else f"ledger.{kind}.{rest}"
        async with self._connecting:
            if self._nc is None:  # connected on first use, on the loop that serves the requests
                try:
                    await self.connect()
                except (OSError, TimeoutError, nats.errors.Error):
                    raise LedgerUnavailable("the portal cannot reach the ledger", field="ledger") from None
        assert self._nc is not None
        try:
            message = await self._nc.request(subject, _encode(payload), timeout=REQUEST_TIMEOUT,
                                             headers=headers or None)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError):
            raise LedgerUnavailable("the ledger did not answer; try again in a moment", field="ledger") from None
        reply = _reply(message.data)
        if reply.error is not None:
            raise refusal(reply.error)
        if not reply.ok:
            raise LedgerError(f"the ledger's reply to {subject} has no answer", field="ledger", code="internal")
        return msgspec.json.decode(reply.ok, type=answer)
