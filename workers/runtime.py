"""Everything ``make run`` starts, in one process: the bundled nats-server (unless NATS_URL is set), the
command/read API, the relay, the workers, the expiry scheduler and the projection runner (a process of its own:
``ledger.projections.follower``). What runs, and where, comes from the ledger's ``Settings`` (README,
Configuration); the composition root (:mod:`ledger.bootstrap`) builds the workers, the mailer and the read models.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import socket
import time
from collections.abc import Awaitable, Callable

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from ledger.bootstrap import Ledger
from ledger.config import WORKER_NAMES
from ledger.identity.binding import Binder
from ledger.identity.credentials import Credentials
from ledger.nats_api.api import build_broker
from ledger.natsserver import NatsServerProcess, connect_roles, connect_until_stopped
from ledger.ports.mailer import Mailer
from ledger.projections.follower import run_follower
from ledger.web.ledger_client import PortalAccess
from ledger.web.server import WebFront
from workers import expiry
from workers.consumer import Worker, consume, rewind
from workers.inbox import Inbox
from workers.relay import Relay
from workers.streams import ensure_dlq_stream, ensure_events_stream, provision_streams

log = structlog.get_logger("ledger.serve")


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound (else the bundled nats-server takes an ephemeral port)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections of a server just stopped
        try:                                                         # (TIME_WAIT) do not hold the port
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def wait_until_answering(nc: Client, timeout: float = 10.0) -> None:
    """Return once the API answers requests (its subscriptions have reached the server)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await nc.request("ledger.read.ping", b"{}", timeout=1)
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


#: Seconds a supervised task must have run for its next failure to count as the first again.
HEALTHY_AFTER = 60.0


def supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event,
              delays: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)) -> asyncio.Task[None]:
    """A task running ``run()`` until ``stop``, started again (after a growing delay) if it fails, e.g. when
    its consumer cannot be created while the nats-server is down."""

    async def loop() -> None:
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                await run()
                failures = 0
            except Exception as error:
                if time.monotonic() - started > HEALTHY_AFTER:  # a long healthy run: start again as if new
                    failures = 0
                delay = delays[min(failures, len(delays) - 1)]
                failures += 1
                log.error("task_failed", task=name, error=repr(error), restart_in=delay, exc_info=error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    return asyncio.create_task(loop(), name=name)


#: How long a clean stop waits for a task to finish what it holds: longer than one SMTP send may take
#: (``SmtpMailer``'s timeout, 30 s), so a stop never abandons an email halfway (it would be "uncertain").
STOP_GRACE = 40.0


async def finish(tasks: list[asyncio.Task[None]], grace: float = STOP_GRACE) -> None:
    """After ``stop`` is set: let each task finish what it holds (an email being sent), cancel it after
    ``grace`` seconds."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        log.warning("task_cancelled", task=task.get_name())
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def consuming(ledger: Ledger, js: JetStreamContext, worker: Worker, inbox: Inbox,
              stop: asyncio.Event) -> Callable[[], Awaitable[None]]:
    """``worker`` consuming its durable consumer, created with LEDGER_WORKER_ACK_WAIT and
    LEDGER_WORKER_MAX_DELIVER (they apply when the consumer is created)."""
    settings = ledger.settings
    return functools.partial(consume, js, worker, inbox, stop, max_deliver=settings.worker_max_deliver,
                             ack_wait=settings.worker_ack_wait)


async def serve(ledger: Ledger, *, nats_url: str | None = None, stop: asyncio.Event | None = None,
                mailer: Mailer | None = None, expiry_every: float = 30.0, web: bool = True) -> None:
    """Run everything until ``stop`` is set (or SIGINT / SIGTERM); ``web``: the customer portal too."""
    home, names, scheduler = ledger.settings.home, list(ledger.settings.workers), ledger.settings.scheduler
    front = WebFront(ledger.settings) if web else None
    if front is not None:
        log.info("portal_listening", http_url=front.http_url, portal_url=front.portal_url)
    stop = stop or asyncio.Event()
    server = None
    credentials = ledger.credentials().ensure()
    access = PortalAccess.of(credentials) if front is not None else None  # before the server reads its users
    url = nats_url or ledger.settings.nats_url
    if not url:
        wanted = ledger.settings.nats_port
        server = NatsServerProcess(home / "nats", die_with_parent=True, config=credentials.config_path)
        server.stop_orphan()  # one left by a serve that died: it would hold the port and the store
        server.port = wanted if port_is_free(wanted) else -1
        server.spawn()  # from the loop's thread, which lives as long as serve (the server dies with it)
        url = await asyncio.to_thread(server.wait_listening)
        log.info("nats_server_started", url=url)
    stop_on_signals(stop)
    follower = supervise("projections", lambda: run_follower(ledger, stop), stop)
    connections = await connect_roles(url, stop, credentials, [("ledger", ""), ("relay", ""),
                                                                *(("worker", name) for name in names)])
    if connections is None:
        await finish([follower])
        if server is not None:
            server.stop()
        log.info("ledger_stopped", connected=False)
        return
    nc = connections["ledger"]
    api_keeper, expiry_keeper = ledger.keeper(), ledger.keeper()
    await provision_streams(url, stop, credentials)
    broker = build_broker(ledger, api_keeper, url, binder=Binder(credentials), **credentials.connect_options("ledger"))
    await broker.start()
    await wait_until_answering(nc)
    inbox = Inbox(home / "workers.db")
    relay = Relay(ledger.store, connections["relay"].jetstream())
    tasks = [supervise("relay", lambda: relay.run(stop), stop)]
    if scheduler:
        tasks.append(supervise("expiry", lambda: expiry.run(ledger, expiry_keeper, stop, expiry_every), stop))
    mailer = mailer or ledger.mailer()
    portal_url = front.portal_url if front is not None else None
    tasks += [supervise(w.name, consuming(ledger, connections[f"worker-{w.name}"].jetstream(), w, inbox, stop), stop)
              for w in ledger.workers(names, mailer, portal_url)]
    if front is not None:
        tasks.append(asyncio.create_task(front.run(url, mailer, stop, ledger.settings.mail_from, access), name="web"))
    log.info("ledger_serving", nats=url, workers=names, scheduler=scheduler, store=ledger.settings.store_description())
    try:
        await stop.wait()
    finally:
        await finish([*tasks, follower])
        await close_quietly(broker.stop(), *(each.close() for each in connections.values()))
        for kept in (api_keeper, expiry_keeper):
            kept.close()
        inbox.close()
        relay.close()
        if server is not None:
            server.stop()
        log.info("ledger_stopped")


async def close_quietly(*closings: Awaitable[None]) -> None:
    """Close NATS connections at shutdown; NATS may be gone already (Ctrl-C on a terminal reaches the bundled
    nats-server too), which is logged, not an error of the stop."""
    for closing in closings:
        try:
            await closing
        except (nats.errors.Error, OSError) as error:
            log.info("nats_gone_at_shutdown", error=repr(error))


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (where the loop supports signal handlers)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


async def run_worker(ledger: Ledger, name: str, nats_url: str, *, stop: asyncio.Event | None = None,
                     mailer: Mailer | None = None, replay_from: int | None = None, expiry_every: float = 30.0) -> None:
    """Run one worker as its own process (``ledger worker NAME``) until ``stop`` or SIGINT / SIGTERM;
    ``replay_from`` first rewinds its durable consumer to that stream sequence."""
    if name not in WORKER_NAMES:
        raise ValueError(f"unknown worker {name!r}: choose from {', '.join(WORKER_NAMES)}")
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    home = ledger.settings.home
    if name == "expiry":
        keeper = ledger.keeper()
        try:
            await expiry.run(ledger, keeper, stop, expiry_every)
        finally:
            keeper.close()
        return
    [worker] = ledger.workers([name], mailer)
    credentials = ledger.credentials()
    if replay_from is not None:  # deleting a consumer is the admin's right alone
        await rewind_as_admin(ledger, nats_url, stop, credentials, name, replay_from)
    nc = await connect_until_stopped(nats_url, stop, max_reconnect_attempts=-1, name=f"ledger-{name}",
                                     **credentials.connect_options("worker", name))
    if nc is None:
        log.info("worker_stopped", worker=name, connected=False)
        return
    inbox = Inbox(home / "workers.db")
    try:
        js = nc.jetstream()
        await ensure_events_stream(js)
        await ensure_dlq_stream(js)
        log.info("worker_started", worker=name, nats=nats_url, replay_from=replay_from)
        task = supervise(name, consuming(ledger, js, worker, inbox, stop), stop)
        await stop.wait()
        await finish([task])
    finally:
        inbox.close()
        await nc.close()
        log.info("worker_stopped", worker=name)


async def rewind_as_admin(ledger: Ledger, url: str, stop: asyncio.Event, credentials: Credentials, name: str,
                          start: int) -> None:
    """Recreate worker ``name``'s durable consumer at stream sequence ``start``, over an admin connection."""
    nc = await connect_until_stopped(url, stop, max_reconnect_attempts=-1, name=f"ledger-{name}-rewind",
                                     **credentials.connect_options("admin"))
    if nc is not None:
        try:
            await ensure_events_stream(nc.jetstream())
            await rewind(nc.jetstream(), name, start, max_deliver=ledger.settings.worker_max_deliver,
                         ack_wait=ledger.settings.worker_ack_wait)
        finally:
            await nc.close()


def run_forever(ledger: Ledger) -> None:
    """Blocking entry point of ``ledger serve``."""
    return asyncio.run(serve(ledger))
