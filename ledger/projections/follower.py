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
import os
import threading
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, Protocol

import structlog

from ledger.config import Settings
from ledger.projections.keeper import ProjectionKeeper, StopFlag
from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.projections")

#: Seconds between two looks for new events when the last look found none.
INTERVAL = 0.2


def follow(settings: Settings, stop: StopFlag, interval: float = INTERVAL, store: Any = None) -> None:
    """Keep every projection of the store that ``settings`` names (or of ``store``, already open) caught up
    until ``stop`` is set."""
    opened = store is None
    events = LedgerStore(settings) if opened else store
    keeper = ProjectionKeeper(events, settings.home)
    log.info("projection_follower_started", db=str(settings.db_path), store=settings.store)
    try:
        keeper.follow(stop, interval)
    finally:
        keeper.close()
        if opened:
            events.close()


class UntilStoppedOrOrphaned:
    """A stop flag that is also set once the process that started this one is gone (killed outright, so it
    could not say stop): a follower never outlives its ``ledger serve``."""

    def __init__(self, stop: ProcessEvent, parent: int) -> None:
        self._stop = stop
        self._parent = parent

    def is_set(self) -> bool:
        """Stop was asked for, or the parent died (this process was handed to another parent)."""
        return self._stop.is_set() or os.getppid() != self._parent

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for stop; True when it is time to stop."""
        self._stop.wait(timeout)
        return self.is_set()


def _run(settings: Settings, stop: ProcessEvent, interval: float, parent: int) -> None:
    """Body of the follower process (started with ``spawn``: it opens everything it uses itself)."""
    from ledger.logs import configure_logging

    configure_logging(fmt=settings.log_format)
    follow(settings, UntilStoppedOrOrphaned(stop, parent), interval)


class FollowerProcess:
    """One projection follower process: :meth:`start`, :meth:`alive`, :meth:`stop` (waits for its batch)."""

    def __init__(self, settings: Settings, interval: float = INTERVAL) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(target=_run, args=(settings, self._stop, interval, os.getpid()),
                                        name="ledger-projections", daemon=True)

    def start(self) -> None:
        """Start the process."""
        self._process.start()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        """The process's exit code once it has ended."""
        return self._process.exitcode

    def stop(self, timeout: float = 10.0) -> None:
        """Ask it to stop after the batch in hand (a batch is one transaction), then wait; kill it after
        ``timeout`` seconds (an interrupted batch is rolled back whole)."""
        self._stop.set()
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
    store: Any


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
            await stop.wait()
        finally:
            flag.set()
            await asyncio.to_thread(thread.join, 10)
        return
    process = FollowerProcess(settings)
    process.start()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), check_every)
            if not process.alive():
                raise RuntimeError(f"the projection follower exited with code {process.exitcode}")
    finally:
        await asyncio.to_thread(process.stop)
