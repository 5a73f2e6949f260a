"""The portal over a real ledger: its command/read API on the session's nats-server, the portal's own NATS client,
a credentials store on a settable clock, emails kept in memory, and helpers to fill forms with their CSRF field."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ledger.adapters.mailers import MemoryMailer
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.nats_api.api import build_broker
from ledger.ports.clock import zone_of
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from ledger.web.app import build_app
from ledger.web.credentials import CredentialStore
from ledger.web.ledger_client import LedgerClient
from ledger.web.portal import Portal
from tests.ledger_fixtures import make_ledger

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Clock:
    """Seconds the credentials store reads; tests move it (session idle timeout, link expiry)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Site(msgspec.Struct, kw_only=True):
    """What a portal test drives."""

    client: Any
    ledger: Ledger
    portal: Portal
    mailer: MemoryMailer
    clock: Clock
    #: Reads of the ledger's API from the test's own loop (the app's client lives on the app's loop).
    reader: LedgerClient

    def staff(self, command: Any) -> m.Outcome:
        """Arrange the account as staff would (straight to the ledger's service)."""
        outcome: m.Outcome = self.ledger.service.handle(command)
        return outcome

    async def submit(self, page: str, action: str | None = None, *, follow: bool = True, **fields: Any) -> Any:
        """GET ``page``, then POST its form to ``action`` (default the page) with its CSRF token and ``fields``
        (redirects followed unless ``follow`` is false)."""
        shown = await self.client.get(page)
        token = CSRF.search(shown.text)
        assert token is not None, f"no CSRF field on {page}: {shown.status_code} {shown.text[:300]}"
        return await self.client.post(action or page, data={"_csrf_token": token.group(1), **fields},
                                      follow_redirects=follow)

    async def log_in(self, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
        """Log in through the login form."""
        return await self.submit("/portal/login", email=email, password=password)


def register(site: Site, account: str = "ACC1", email: str = "ada@example.com") -> None:
    """An account whose customer has a confirmed portal login (the invitation flow is tested on its own)."""
    site.staff(m.OpenAccount(account=account, email=email, name="Ada"))
    sent = site.staff(m.SendInvitation(account=account))
    raw = site.ledger.ports.tokens.issue("invitation", account, sent.reference, "0")
    site.staff(m.AcceptInvitation(account=account, token=raw))
    site.portal.store.register(account, email, site.portal.auth.hasher.hash(PASSWORD))  # as the invitation page
    site.portal.store.confirm(account)


def event_names(site: Site, account: str = "ACC1") -> list[str]:
    """The types of the account's events, oldest first."""
    return [type(e).__name__ for e in site.ledger.store.events.get(account_uuid(account))]


@pytest.fixture
async def site(tmp_path: Path, nats_server: str) -> AsyncIterator[Site]:
    """The portal app in a test client, over a ledger served on the session's nats-server."""
    ledger = make_ledger(tmp_path)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    broker = build_broker(ledger, keeper, nats_server)
    # The ledger's API on a loop of its own: the test client runs the app on another thread's loop and waits.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(broker.start(), loop).result(10)
    clock, mailer = Clock(), MemoryMailer()
    store = CredentialStore(tmp_path / "portal.db", clock)
    portal = Portal(client=LedgerClient(nats_server), store=store, mailer=mailer, zone=zone_of("America/New_York"),
                    base_url="http://testserver.local", tokenizer_url="http://127.0.0.1:9", exact=False,
                    hasher=PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192),)))
    reader = LedgerClient(nats_server)
    try:
        async with AsyncTestClient(build_app(portal, csrf_secret="test-secret"),
                                   base_url="http://testserver.local") as client:
            yield Site(client=client, ledger=ledger, portal=portal, mailer=mailer, clock=clock, reader=reader)
    finally:
        await reader.close()
        asyncio.run_coroutine_threadsafe(broker.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        keeper.close()
        store.close()
        ledger.close()
