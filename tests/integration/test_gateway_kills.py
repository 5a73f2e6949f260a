"""Fault test with real deaths (issue 15): a ledger process (tests/gateway_kill_child.py) runs thousands of
seeded payments, holds, captures, reauthorizations and refunds against the gateway simulator's file while the
gateway loses answers, and the test SIGKILLs it at random moments, again and again, each new process going on
with the next commands; so kills land anywhere: while it starts, before the gateway call, between the gateway's
act and the ledger's write, in the middle of a commit, while it catches up its read models and hash chain or
reconciles (as ``serve`` does beside the commands), between commands. Then one reconciliation (the clock past
``GRACE``) leaves every gateway transaction that moved money in the ledger exactly once (nothing flagged), no
hold the ledger does not want live, the invariants holding and no intent left, and ``audit verify`` passes on
the killed store: the log, its hash chain and the read models are whole."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.commands.reconciliation import GRACE
from tests.gateway_kill_child import RECONCILE_EVERY, Progress
from tests.gateway_stories import open_accounts, reconciled
from tests.ledger_fixtures import START, LedgerCli, backend, make_ledger
from tests.store_backends import schema_name

ROOT = Path(__file__).resolve().parents[2]
#: How often a kill comes at any moment of a process's start (while it imports and builds the ledger), and how
#: often at any moment of a catch-up of its read models or of a reconciliation, rather than soon after the process
#: started its target command.
ANY_MOMENT, IN_BACKGROUND = 0.15, 0.2
#: How long after its target command a kill comes, at most, in seconds (a few commands at most).
AFTER_TARGET = 0.02
#: Where a kill landed, by the last line its process wrote (none: while Python started).
WHERE = {"building": "while opening the ledger", "ready": "between commands", "done": "between commands",
         "reconciled": "between commands", "reconciling": "while reconciling", "projected": "between commands",
         "projecting": "while catching up the read models and the hash chain",
         "start": "in a command, before the gateway acted", "acted": "after the gateway acted, before the write",
         "lost": "after the gateway acted (answer lost), before a retry"}


class Killer:
    """Starts ledger processes on ``home`` that run the seeded commands, and SIGKILLs them at random moments."""

    def __init__(self, home: Path, seed: int, count: int) -> None:
        self.home, self.seed, self.count = home, seed, count
        self.progress, self.rng, self.landed = Progress(home), random.Random(seed), Counter[str]()
        self.starting = 1.0  # how long a process takes to be ready, in seconds: measured on each one

    def spawn(self) -> subprocess.Popen[bytes]:
        with (self.home / "child.log").open("ab") as output:
            return subprocess.Popen([sys.executable, "-m", "tests.gateway_kill_child", str(self.home),
                                     str(self.seed), str(self.count)], cwd=ROOT, stdout=output,
                                    stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def took(self, work: str) -> float:
        """How long ``work`` (``projecting``, ``reconciling``) last took, in seconds."""
        done = f"{work.removesuffix('ing')}ed "
        took = [line.split()[1] for line in self.progress.lines()[-2000:] if line.startswith(done)]
        return float(took[-1]) if took else 0.1

    def kill_one(self, left: int) -> bool:
        """Start a process and kill it soon after a target command drawn so that the ``left`` kills spread over
        the commands still to run, or at any moment of its start, of a catch-up or of a reconciliation; False if it
        finished first."""
        step = max(1, (self.count - self.progress.reached()) // (left + 1))
        target, begun = self.progress.reached() + self.rng.randrange(1, 2 * step), len(self.progress.lines())
        started, child, roll = time.monotonic(), self.spawn(), self.rng.random()
        until: Callable[[], bool]
        if roll < ANY_MOMENT:
            at, then = started + self.rng.uniform(0, self.starting), 0.0
            until = lambda: time.monotonic() >= at  # noqa: E731
        elif roll < ANY_MOMENT + IN_BACKGROUND and self.progress.reached() // RECONCILE_EVERY < (
                self.count - 1) // RECONCILE_EVERY:  # a reconciliation (and catch-ups) still to come
            work = self.rng.choice(["projecting", "reconciling"])
            then = self.rng.uniform(0, 1.2) * self.took(work)
            until = lambda: work in self.progress.lines()[begun:]  # noqa: E731
        else:
            then = self.rng.uniform(0, AFTER_TARGET)
            until = lambda: self.progress.reached() >= target  # noqa: E731
        ready = False
        while not until() and child.poll() is None:
            if not ready and (ready := "ready" in self.progress.lines()[begun:]):
                self.starting = time.monotonic() - started
            time.sleep(0.002)
        time.sleep(then)
        if child.poll() is not None:
            assert child.returncode == 0, self.output()
            return False
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines = self.progress.lines()[begun:]
        self.landed[WHERE[lines[-1].split()[0]] if lines else "while Python starts"] += 1
        return True

    def finish(self) -> list[str]:
        """Run the commands left to their end, unkilled; every line of the progress."""
        assert self.spawn().wait(timeout=600) == 0, self.output()
        return self.progress.lines()

    def output(self) -> str:
        return (self.home / "child.log").read_text()[-3000:]


def audit_verify(home: Path) -> dict[str, object]:
    """``ledger audit verify --json`` on the ledger of ``home``: the hash chain, the projections rebuilt and
    diffed, the invariants."""
    run = LedgerCli(home)
    if backend() == "postgres":
        run.env.update(LEDGER_STORE="postgres", LEDGER_POSTGRES_DSN=os.environ["LEDGER_TEST_POSTGRES_DSN"],
                       LEDGER_POSTGRES_SCHEMA=schema_name(home))
    result = run("--json", "audit", "verify")
    assert result.exit_code == 0, result.output
    verified: dict[str, object] = json.loads(result.stdout)
    return verified


def run_kills(home: Path, seed: int, count: int, kills: int) -> dict[str, object]:
    """Open the accounts, run ``count`` commands in processes killed ``kills`` times, reconcile once past
    ``GRACE`` and check the ledger converged and verifies; the counts."""
    ledger = make_ledger(home)
    open_accounts(ledger)
    ledger.close()
    ledger.ports.gateway.close()  # type: ignore[attr-defined]
    killer = Killer(home, seed, count)
    for left in range(kills, 0, -1):
        if not killer.kill_one(left):
            break
    lines = killer.finish()
    clock = ManualClock(START + timedelta(seconds=count + 1) + GRACE)
    gateway = GatewaySimulator(clock, str(home / "gateway.db"))
    ledger = make_ledger(home, clock=clock, gateway=gateway)
    try:
        intents = len(ledger.store.gateway_book.intents())
        counts = reconciled(ledger, gateway)
    finally:
        ledger.close()
        gateway.close()
    verified = audit_verify(home)
    assert verified["ok"] is True and verified["findings"] == []
    assert "flagged" not in counts  # each story's command could record what its gateway call did
    return {"commands": count, "commands_run": sum(line.startswith("start") for line in lines),
            "processes": lines.count("ready"), "kills": killer.landed.total(), **killer.landed,
            "answers_lost": lines.count("lost"),
            "catch_ups_before": sum(line.startswith("projected") for line in lines),
            "reconciliations_before": sum(line.startswith("reconciled") for line in lines),
            "intents_left_before_reconcile": intents, **counts,
            "events_verified": verified["events"]}


@pytest.mark.usefixtures("store_backend")
def test_a_ledger_killed_at_random_moments_converges_after_one_reconciliation(tmp_path: Path) -> None:
    counts = run_kills(tmp_path / "home", seed=15, count=2000, kills=20)
    print(counts)
    assert counts["kills"] == 20 and counts["answers_lost"]


@pytest.mark.slow
@pytest.mark.usefixtures("store_backend")
@pytest.mark.parametrize("seed", range(3))
def test_a_ledger_killed_a_hundred_times_converges(tmp_path: Path, seed: int) -> None:
    print(run_kills(tmp_path / "home", seed=seed, count=10_000, kills=100))
