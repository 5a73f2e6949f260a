"""The ledger process tests/integration/test_gateway_kills.py kills: ``python -m tests.gateway_kill_child HOME
SEED COUNT`` builds the ledger on HOME (its store, SQLite or PostgreSQL as ``LEDGER_TEST_STORE`` says, and the
gateway simulator's file ``HOME/gateway.db``, whose truth survives the kill; every other process with group
commit, as ``serve`` writes), then runs the seeded stories of :mod:`tests.gateway_stories` from where the last
process stopped, each command at START plus its index in seconds (the clock the test reconciles against),
catching up its read models and reconciling every so many commands. The gateway loses answers; the client
retries once in two.

What it is doing is appended to ``HOME/progress``, one line per step, each line one ``write`` (whole or absent
after a kill): ``building`` before it opens the ledger, ``ready`` once built, ``start I`` before command I,
``acted`` when the gateway acted on one of its calls, ``lost`` when that answer was then lost, ``done I`` after
the command, ``projecting`` and ``projected SECONDS`` around a catch-up of the read models and the hash chain,
``reconciling`` and ``reconciled SECONDS`` around a reconciliation; so the test can tell where each kill
landed, and the next process which command comes next: the one after the last ``done``, or the one a kill
interrupted, sent again (the same key) once in two, as a client that never heard back would.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ledger.adapters.clock import ManualClock
from ledger.commands.reconciliation import reconcile
from ledger.errors import GatewayUnavailable
from ledger.ports.ids import RandomIds
from tests.gateway_stories import FaultyGateway, attempt, commands
from tests.ledger_fixtures import START, make_ledger

#: Every so many commands the process brings its read models and hash chain up to date (as ``serve``'s projection
#: runner does all the time) and reconciles (as its scheduler does every few minutes).
PROJECT_EVERY, RECONCILE_EVERY = 50, 250


class Progress:
    """The lines of ``HOME/progress``: what the ledger processes did, in order."""

    def __init__(self, home: Path) -> None:
        self.path, self._read, self._lines = home / "progress", 0, list[str]()

    def lines(self) -> list[str]:
        """Every whole line so far (the file read on from where the last call stopped)."""
        if self.path.exists():
            with self.path.open("rb") as file:
                file.seek(self._read)
                chunk = file.read()
            whole = chunk[:chunk.rfind(b"\n") + 1]
            self._read += len(whole)
            self._lines += whole.decode().splitlines()
        return self._lines

    def reached(self) -> int:
        """The index of the last command started (-1: none yet)."""
        return next((int(line.split()[1]) for line in reversed(self.lines()) if line.startswith("start ")), -1)

    def write(self, line: str) -> None:
        """Append one line in one system call (a kill leaves it whole or absent)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    def next_command(self, rng: random.Random) -> int:
        """The index of the command to run next."""
        for line in reversed(self.lines()):
            word, _, index = line.partition(" ")
            if word == "done":
                return int(index) + 1
            if word == "start":  # killed in the middle of it: sent again once in two
                return int(index) + (rng.random() < 0.5)
        return 0


class MarkedGateway(FaultyGateway):
    """A gateway that loses answers (never kills in-process: the test kills the process) and says when it acted."""

    def __init__(self, clock: ManualClock, path: str, rng: random.Random, progress: Progress) -> None:
        super().__init__(clock, path, rng, kill=0)
        self.progress = progress

    def _acted(self, result: Any) -> Any:
        self.progress.write("acted")
        try:
            return super()._acted(result)
        except GatewayUnavailable:
            self.progress.write("lost")
            raise


def main(home: Path, seed: int, count: int) -> None:
    progress = Progress(home)
    todo = commands(random.Random(seed), count)
    rng = random.Random(f"{seed}:{progress.lines().count('ready')}:{len(progress.lines())}")
    first = progress.next_command(rng)
    clock = ManualClock(START + timedelta(seconds=first + 1))
    serving = progress.lines().count("building") % 2 == 1  # every other process writes as serve does
    progress.write("building")
    ledger = make_ledger(home, clock=clock, gateway=MarkedGateway(clock, str(home / "gateway.db"), rng, progress),
                         ids=RandomIds(), serving=serving)
    progress.write("ready")
    keeper, outcomes = ledger.keeper(), Counter[str]()
    for index in range(first, count):
        clock.set(START + timedelta(seconds=index + 1))
        if index and index % PROJECT_EVERY == 0:  # serve's projection runner and hash chain
            timed(progress, "projecting", keeper.catch_up)
        if index and index % RECONCILE_EVERY == 0:  # serve's scheduler
            timed(progress, "reconciling", lambda: reconcile(ledger.store, ledger.ports))
        progress.write(f"start {index}")
        attempt(ledger, todo[index], rng, outcomes)
        progress.write(f"done {index}")
    keeper.close()
    ledger.close()


def timed(progress: Progress, work: str, run: Callable[[], object]) -> None:
    """``run`` between the lines ``WORK`` and ``WORKed SECONDS`` (how long it took)."""
    progress.write(work)
    began = time.monotonic()
    run()
    progress.write(f"{work.removesuffix('ing')}ed {time.monotonic() - began:.3f}")

if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
