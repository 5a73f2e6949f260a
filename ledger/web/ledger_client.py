"""The portal's one door into the ledger: requests on its NATS command and read API (``ledger.cmd.*``,
``ledger.read.*``), never the event store.

Every command names the customer the portal acts for as its actor (kind ``customer``, channel ``portal``).
Authenticating the portal itself to NATS (its own credential) and signing which account it acts for are
done here and only here, so the rest of the web app never sees how the ledger is reached.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import nats
from nats.aio.client import Client

from ledger.errors import LedgerError

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
#: Seconds a request may take before the page says the ledger is unavailable (a card charge takes longest).
REQUEST_TIMEOUT = 20.0
#: Seconds a page waits for the first connection to NATS before saying the ledger is unavailable.
CONNECT_TIMEOUT = 5.0


class LedgerUnavailable(LedgerError):
    """The ledger did not answer over NATS (down, or too slow): nothing is known to have happened."""

    code = "ledger_unavailable"


def refusal(error: dict[str, Any]) -> LedgerError:
    """The typed error of a ``{"error": {...}}`` reply."""
    failure = LedgerError(str(error.get("message") or "refused"), field=error.get("field"),
                          code=str(error.get("code") or "ledger_error"))
    return failure


class LedgerClient:
    """Commands and reads over NATS request/reply for the portal."""

    def __init__(self, url: str, *, name: str = "ledger-portal", connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.url = url
        self.name = name
        self.connect_timeout = connect_timeout
        self._nc: Client | None = None
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        """Connect within CONNECT_TIMEOUT seconds (nats-py would retry a first connection forever), then keep
        reconnecting for as long as the app runs."""
        self._nc = await asyncio.wait_for(
            nats.connect(self.url, name=self.name, max_reconnect_attempts=-1, allow_reconnect=True,
                         connect_timeout=2), self.connect_timeout)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def command(self, name: str, account: str, body: dict[str, Any], *, actor: str,
                      kind: str = "customer") -> dict[str, Any]:
        """Run ``ledger.cmd.<name>`` for ``account``, acting as the customer whose opaque login id is ``actor``
        (or a ``guest``); the command's Outcome, or the ledger's refusal raised as a :class:`LedgerError`."""
        payload = {**body, "account": account, "actor": {"kind": kind, "name": actor, "channel": "portal"}}
        answer: dict[str, Any] = await self._request(f"ledger.cmd.{name}", payload)
        return answer

    async def read(self, view: str, **query: Any) -> Any:
        """``ledger.read.<view>`` with ``query`` (None values left out)."""
        return await self._request(f"ledger.read.{view}", {k: v for k, v in query.items() if v is not None})

    async def _request(self, subject: str, payload: dict[str, Any]) -> Any:
        async with self._connecting:
            if self._nc is None:  # connected on first use, on the loop that serves the requests
                try:
                    await self.connect()
                except (OSError, TimeoutError, nats.errors.Error):
                    raise LedgerUnavailable("the portal cannot reach the ledger", field="ledger") from None
        assert self._nc is not None
        try:
            message = await self._nc.request(subject, _encode(payload), timeout=REQUEST_TIMEOUT)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError):
            raise LedgerUnavailable("the ledger did not answer; try again in a moment", field="ledger") from None
        reply = _decode(message.data)
        if "error" in reply:
            raise refusal(reply["error"])
        return reply["ok"]
