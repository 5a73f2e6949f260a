"""Running the portal: the web app and the gateway simulator's tokenizer page on uvicorn, inside ``ledger serve``
(beside the ledger) or alone (``ledger web``, a client of a ledger reachable over NATS)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from litestar import Litestar

from ledger.config import Settings
from ledger.ports.clock import zone_of
from ledger.ports.mailer import Mailer
from ledger.web.app import build_app
from ledger.web.credentials import credential_store
from ledger.web.ledger_client import LedgerClient, PortalAccess
from ledger.web.portal import Portal

log = structlog.get_logger("ledger.web")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process's stop event ends it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``port``, or on a free port when that one is taken (0: always a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.bind((host, 0))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class WebFront:
    """The portal and the tokenizer, bound to their ports at construction (so their URLs are known first)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.portal_socket = listen(settings.http_host, settings.http_port)
        self.tokenizer_socket = listen(settings.http_host, settings.tokenizer_port)
        self.http_url = settings.http_url(self.portal_socket.getsockname()[1])
        self.tokenizer_url = settings.http_url(self.tokenizer_socket.getsockname()[1])
        #: Where emails send customers: LEDGER_PORTAL_URL, else this portal.
        self.portal_url = settings.portal_url or self.http_url

    async def run(self, nats_url: str, mailer: Mailer, stop: asyncio.Event, sender: str = "ledger@localhost",
                  access: PortalAccess | None = None) -> None:
        """Serve both until ``stop`` is set; ``access``: the portal's NATS credential (None: an open server)."""
        from ledger.adapters.tokenizer import build_tokenizer

        store = credential_store(self.settings)
        portal = Portal(client=LedgerClient(nats_url, access=access), store=store, mailer=mailer,
                        zone=zone_of(self.settings.timezone), base_url=self.portal_url,
                        tokenizer_url=self.tokenizer_url, exact=self.settings.portal_exact, sender=sender)
        servers = [_server(build_app(portal, secure_cookies=self.portal_url.startswith("https:"))),
                   _server(build_tokenizer(self.portal_url))]
        tasks = [asyncio.create_task(servers[0].serve([self.portal_socket])),
                 asyncio.create_task(servers[1].serve([self.tokenizer_socket]))]
        log.info("portal_serving", http_url=self.http_url, tokenizer_url=self.tokenizer_url,
                 portal_url=self.portal_url)
        try:
            await stop.wait()
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await portal.client.close()
            store.close()


def _server(app: Litestar) -> _Server:
    return _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", proxy_headers=False))


async def run_web(settings: Settings, nats_url: str, mailer: Mailer, stop: asyncio.Event | None = None,
                  sender: str = "ledger@localhost", access: PortalAccess | None = None) -> None:
    """``ledger web``: only the portal and the tokenizer, until ``stop`` (or SIGINT / SIGTERM)."""
    import signal

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    front = WebFront(settings)
    log.info("portal_listening", http_url=front.http_url, portal_url=front.portal_url)
    await front.run(nats_url, mailer, stop, sender, access)
