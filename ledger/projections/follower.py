"""The live projection runner as a process of its own.

``ledger serve`` starts one, and ``ledger projections follow`` is one. In a thread of the serving process it
shared the GIL with the command threads: under group commit at full speed the read models kept up, but the
writers lost a third of their commands/s. In its own process it uses the other core, and reads in the service
(which catch their projection up before answering) find it already done.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Protocol

import structlog

from ledger import bootstrap
from ledger.config import Settings, ensure_private_home
from ledger.projections.keeper import StopFlag
from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.projections")

#: Seconds between two looks for new events when the last look found none.
INTERVAL = 0.2


def follow(settings: Settings, stop: StopFlag, interval: float = INTERVAL, store: LedgerStore | None = None) -> None:
    """Keep every projection of the store that ``settings`` names (or of ``store``, already open) caught up
    until ``stop`` is set."""
    opened = store is None
    ensure_private_home(settings.home)
    events = store if store is not None else LedgerStore(settings)
    keeper = bootstrap.keeper(events, settings)
    log.info("projection_follower_started", store=settings.store_description())
    try:
        keeper.follow(stop, interval)
    finally:
        keeper.close()
        if opened:
            events.close()


class PipeStop:
    """The follower process's stop flag: the read end of a pipe whose write end only the parent holds.

    The parent closes its end to say stop; a parent that dies outright (SIGKILL, the OOM killer) closes it too,
    so a follower never outlives its ``ledger serve``. Unlike a shared ``multiprocessing.Event`` (a lock and a
    condition), nothing either side can die holding. SIGTERM to the follower itself also stops it.
    """

    def __init__(self, reader: Connection) -> None:
        self._reader = reader
        self._asked = False

    def request(self) -> None:
        """Stop after the batch in hand (the SIGTERM handler)."""
        self._asked = True

    def is_set(self) -> bool:
        """Whether it is time to stop."""
        if not self._asked and self._reader.poll(0):  # end of file: the parent closed its end, or is gone
            self._asked = True
        return self._asked

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for stop; True when it is time to stop."""
        if not self._asked and self._reader.poll(timeout):
            self._asked = True
        return self._asked


def _run(settings: Settings, reader: Connection, interval: float, quiet: bool) -> None:
    """Body of the follower process (started with ``spawn``: it opens everything it uses itself)."""
    from ledger.logs import configure_logging

    stop = PipeStop(reader)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a terminal reaches the whole group: serve stops it
    signal.signal(signal.SIGTERM, lambda *_: stop.request())
    configure_logging(quiet=quiet, fmt=settings.log_format)
    follow(settings, stop, interval)


class FollowerProcess:
    """One projection follower process: :meth:`start`, :meth:`alive`, :meth:`stop` (waits for its batch)."""

    def __init__(self, settings: Settings, interval: float = INTERVAL, *, quiet: bool = False) -> None:
        """``quiet``: the process logs warnings only (benchmarks)."""
        context = multiprocessing.get_context("spawn")
        self._reader, self._writer = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(settings, self._reader, interval, quiet),
                                        name="ledger-projections", daemon=True)

    def start(self) -> None:
        """Start the process."""
        self._process.start()
        self._reader.close()  # the child has its own copy; ours would keep the pipe open after we die

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The process id once started."""
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        """The process's exit code once it has ended."""
        return self._process.exitcode

    def stop(self, timeout: float = 10.0) -> None:
        """Ask it to stop after the batch in hand (a batch is one transaction), then wait; kill it after
        ``timeout`` seconds (an interrupted batch is rolled back whole). Never blocks on a dead process."""
        self._writer.close()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def runs_in_a_process(settings: Settings) -> bool:
    """Whether another process can open the store (not an in-memory SQLite database)."""
    return settings.store != "sqlite" or ":memory:" not in str(settings.db_path)


class Served(Protocol):
    """What :func:`run_follower` needs of a built ledger (``ledger.bootstrap.Ledger``)."""

    settings: Settings
    store: LedgerStore


async def run_follower(ledger: Served, stop: asyncio.Event, check_every: float = 1.0) -> None:
    """Follow the ledger's store in a process of its own until ``stop``; raise if that process dies, so that a
    supervisor starts it again. A store no other process can open (in-memory SQLite) is followed by a thread.
    """
    settings = ledger.settings
    if not runs_in_a_process(settings):
        flag = threading.Event()
        thread = threading.Thread(target=follow, args=(settings, flag), kwargs={"store": ledger.store},
                                  name="projections", daemon=True)
        thread.start()
        try:
            await _until(stop, check_every, thread.is_alive, lambda: "the projection follower thread ended")
        finally:
            flag.set()
            await asyncio.to_thread(thread.join, 10)
        return
    process = FollowerProcess(settings)
    process.start()
    try:
        await _until(stop, check_every, process.alive,
                     lambda: f"the projection follower exited with code {process.exitcode}")
    finally:
        await asyncio.to_thread(process.stop)


async def _until(stop: asyncio.Event, every: float, alive: Callable[[], bool], why: Callable[[], str]) -> None:
    """Return when ``stop`` is set; raise RuntimeError(``why``) when ``alive()`` turns false before that."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if not stop.is_set() and not alive():
            raise RuntimeError(why())
