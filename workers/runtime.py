"""Everything ``make run`` starts, in one process: the bundled nats-server (unless NATS_URL is set), the
command/read API, the relay, the workers, the expiry scheduler and the projection runner (a process of its own:
``ledger.projections.follower``).

| variable | default | meaning |
| --- | --- | --- |
| NATS_URL | (bundled nats-server on 127.0.0.1:4222, store var/nats) | NATS server with JetStream |
| SMTP_HOST / SMTP_PORT | (none: Maildir var/mail) / 25 | SMTP relay for customer emails |
| SMTP_USER / SMTP_PASSWORD / SMTP_STARTTLS | | SMTP credentials; STARTTLS when "1" |
| LEDGER_MAIL_FROM | ledger@localhost | sender address |
| LEDGER_PORTAL_URL | http://localhost:8080 | base of invitation and cart links |
| LEDGER_WORKERS | emails,orders,autopay | which workers run in this process |
| LEDGER_WORKER_ACK_WAIT | 30 | seconds before an unacknowledged event (its worker died) is delivered again |
| LEDGER_WORKER_MAX_DELIVER | 5 | deliveries of a failing event before it goes to the dead letters |
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import structlog

from ledger.adapters.mailers import MaildirMailer, SmtpMailer
from ledger.bootstrap import Ledger
from ledger.errors import ValidationError
from ledger.identity.binding import Binder
from ledger.identity.credentials import Credentials
from ledger.nats_api.api import build_broker
from ledger.natsserver import NatsServerProcess, connect_roles, connect_until_stopped
from ledger.ports.mailer import Mailer
from ledger.projections.follower import run_follower
from ledger.projections.keeper import ProjectionKeeper
from workers import expiry
from workers.autopay import AutopayWorker
from workers.consumer import Worker, consume, ensure_dlq_stream, rewind
from workers.emails import EmailWorker
from workers.inbox import Inbox
from workers.orders import OrdersWorker
from workers.relay import Relay, ensure_events_stream

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


async def wait_until_answering(nc: Any, timeout: float = 10.0) -> None:
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


def consumer_options() -> dict[str, Any]:
    """The workers' consumer settings from LEDGER_WORKER_ACK_WAIT and LEDGER_WORKER_MAX_DELIVER (they apply
    when a worker's durable consumer is created)."""
    return {"ack_wait": float(os.environ.get("LEDGER_WORKER_ACK_WAIT", "30")),
            "max_deliver": int(os.environ.get("LEDGER_WORKER_MAX_DELIVER", "5"))}


def mailer_from_env(home: Path) -> Mailer:
    """SMTP when SMTP_HOST is set, else a Maildir under ``home/mail``."""
    host = os.environ.get("SMTP_HOST")
    if not host:
        return MaildirMailer(home / "mail")
    return SmtpMailer(host, int(os.environ.get("SMTP_PORT", "25")), username=os.environ.get("SMTP_USER") or None,
                      password=os.environ.get("SMTP_PASSWORD") or None,
                      start_tls=os.environ.get("SMTP_STARTTLS") == "1")


#: The event consumers ``serve`` runs (LEDGER_WORKERS); ``ledger worker`` also runs the expiry scheduler alone.
CONSUMERS = ("emails", "orders", "autopay")
WORKER_NAMES = (*CONSUMERS, "expiry")


def worker_names(text: str) -> list[str]:
    """The workers named in a LEDGER_WORKERS value (comma-separated; empty: none). A name that is not a
    worker is refused, naming it: a typo would otherwise start the process without the worker, silently."""
    stripped = (part.strip() for part in text.split(","))
    names = [name for name in stripped if name and name != "expiry"]  # the scheduler every serve runs
    for name in names:
        if name not in CONSUMERS:
            raise ValidationError(f"LEDGER_WORKERS names {name!r}, which is not a worker (workers: "
                                  f"{', '.join(CONSUMERS)})", field="LEDGER_WORKERS", code="unknown_worker")
    return list(dict.fromkeys(names))


def scheduler_wanted(text: str) -> bool:
    """LEDGER_SCHEDULER: ``1`` (default) runs the scheduler (expiries, ACH outcomes) in this ``serve``; ``0`` on
    the other nodes of a deployment, so the gateway is asked once, not once per node."""
    if text not in ("0", "1"):
        raise ValidationError("LEDGER_SCHEDULER must be 0 or 1", field="LEDGER_SCHEDULER", code="invalid")
    return text == "1"


def workers_for(ledger: Ledger, mailer: Mailer, names: list[str]) -> list[Worker]:
    """The named workers (see :func:`worker_names`)."""
    available: dict[str, Worker] = {
        "emails": EmailWorker(ledger.store, mailer, ledger.ports.tokens,
                              os.environ.get("LEDGER_PORTAL_URL", "http://localhost:8080"),
                              os.environ.get("LEDGER_MAIL_FROM", "ledger@localhost")),
        "orders": OrdersWorker(ledger.store, ledger.service),
        "autopay": AutopayWorker(ledger.store, ledger.service),
    }
    return [available[n] for n in names if n in available]


async def serve(ledger: Ledger, *, nats_url: str | None = None, stop: asyncio.Event | None = None,
                mailer: Mailer | None = None, expiry_every: float = 30.0) -> None:
    """Run everything until ``stop`` is set (or SIGINT / SIGTERM)."""
    home = ledger.settings.home
    names = worker_names(os.environ.get("LEDGER_WORKERS", ",".join(CONSUMERS)))
    scheduler = scheduler_wanted(os.environ.get("LEDGER_SCHEDULER", "1"))
    stop = stop or asyncio.Event()
    server = None
    credentials = Credentials(home).ensure()
    url = nats_url or os.environ.get("NATS_URL")
    if not url:
        wanted = int(os.environ.get("LEDGER_NATS_PORT", "4222"))
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
    api_keeper, expiry_keeper = ProjectionKeeper(ledger.store, home), ProjectionKeeper(ledger.store, home)
    js = nc.jetstream()
    await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    broker = build_broker(ledger, api_keeper, url, binder=Binder(credentials),
                          **credentials.connect_options("ledger"))
    await broker.start()
    await wait_until_answering(nc)
    inbox = Inbox(home / "workers.db")
    relay = Relay(ledger.store, connections["relay"].jetstream())
    tasks = [supervise("relay", lambda: relay.run(stop), stop)]
    if scheduler:
        tasks.append(supervise("expiry", lambda: expiry.run(ledger, expiry_keeper, stop, expiry_every), stop))
    tasks += [supervise(w.name, functools.partial(consume, connections[f"worker-{w.name}"].jetstream(), w, inbox,
                                                  stop, **consumer_options()), stop)
              for w in workers_for(ledger, mailer or mailer_from_env(home), names)]
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
        keeper = ProjectionKeeper(ledger.store, home)
        try:
            await expiry.run(ledger, keeper, stop, expiry_every)
        finally:
            keeper.close()
        return
    [worker] = workers_for(ledger, mailer or mailer_from_env(home), [name])
    credentials = Credentials(home)
    if replay_from is not None:  # deleting a consumer is the admin's right alone
        await rewind_as_admin(nats_url, stop, credentials, name, replay_from)
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
        task = supervise(name, functools.partial(consume, js, worker, inbox, stop, **consumer_options()), stop)
        await stop.wait()
        await finish([task])
    finally:
        inbox.close()
        await nc.close()
        log.info("worker_stopped", worker=name)


async def rewind_as_admin(url: str, stop: asyncio.Event, credentials: Credentials, name: str, start: int) -> None:
    """Recreate worker ``name``'s durable consumer at stream sequence ``start``, over an admin connection."""
    nc = await connect_until_stopped(url, stop, max_reconnect_attempts=-1, name=f"ledger-{name}-rewind",
                                     **credentials.connect_options("admin"))
    if nc is not None:
        try:
            await ensure_events_stream(nc.jetstream())
            await rewind(nc.jetstream(), name, start, **consumer_options())
        finally:
            await nc.close()


def run_forever(ledger: Ledger) -> Any:
    """Blocking entry point of ``ledger serve``."""
    return asyncio.run(serve(ledger))
