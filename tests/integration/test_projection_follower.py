"""The live projection follower in a process of its own (as ``ledger serve`` and ``ledger projections follow``
run it), on real files: it catches up with what the writer commits, stops cleanly, and a dead one is reported
so that its supervisor starts it again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.projections import fresh
from ledger.projections.follower import FollowerProcess, run_follower
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import dump

pytestmark = pytest.mark.usefixtures("store_backend")


def write(ledger: Ledger, account: str) -> None:
    ledger.service.handle(m.OpenAccount(account=account, email=f"{account.lower()}@example.com"))
    ledger.service.handle(m.IssueInvoice(account=account, invoice="I1", amount="100.00", date="2026-09-01",
                                         due="2026-09-30"))
    ledger.service.handle(m.SubmitPayment(account=account, payment="P1", amount="60.00", method="card",
                                          token="tok_visa", distribute=True))


def caught_up(home: Path, ledger: Ledger, timeout: float = 30.0) -> bool:
    """Wait until every projection file is at the head of the log (read from the files, not applied here)."""
    watcher = ProjectionKeeper(ledger.store, home)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.lag == 0 for s in watcher.status()):
                return True
            time.sleep(0.05)
        return False
    finally:
        watcher.close()


def test_a_follower_process_keeps_the_read_models_up_with_the_writer(ledger: Ledger, tmp_path: Path) -> None:
    follower = FollowerProcess(ledger.settings, interval=0.05)
    follower.start()
    try:
        write(ledger, "ACC1")
        assert caught_up(tmp_path, ledger)
        write(ledger, "ACC2")  # written while it runs
        assert caught_up(tmp_path, ledger)
        assert follower.alive()
    finally:
        follower.stop()
    assert not follower.alive() and follower.exitcode == 0  # asked to stop: it finished its batch and left
    served = ProjectionKeeper(ledger.store, tmp_path)
    rebuilt = ProjectionKeeper(ledger.store, tmp_path / "rebuilt")
    rebuilt.catch_up()
    assert {p.name: dump(served.connection(p.name), p) for p in fresh()} == \
           {p.name: dump(rebuilt.connection(p.name), p) for p in fresh()}
    served.close()
    rebuilt.close()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_follower_killed_while_idle_is_reported_and_stopping_never_hangs(
        ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: signal.Signals) -> None:
    """Killed (the OOM killer) or terminated (systemd signals the whole group) while it waits for events: the
    supervisor hears of it at once and the dead process's stop returns."""
    started: list[FollowerProcess] = []
    original = FollowerProcess.start

    def start(self: FollowerProcess) -> None:
        original(self)
        started.append(self)

    monkeypatch.setattr(FollowerProcess, "start", start)
    write(ledger, "ACC1")

    async def scenario() -> str:
        stop = asyncio.Event()
        task = asyncio.create_task(run_follower(ledger, stop, check_every=0.05))
        while not started:
            await asyncio.sleep(0.01)
        assert await asyncio.to_thread(caught_up, tmp_path, ledger)  # now idle, waiting for events
        os.kill(started[0].pid or 0, how)
        try:
            await asyncio.wait_for(task, 30)
        except RuntimeError as died:
            return str(died)
        return "returned"

    outcome = asyncio.run(scenario())
    if how == signal.SIGKILL:
        assert "exited with code -9" in outcome
    else:  # SIGTERM is a request to stop: it leaves cleanly, which its supervisor also hears as an exit
        assert "exited with code 0" in outcome
    started[0].stop()  # returns: nothing left to wait for


def test_ledger_projections_follow_runs_until_sigterm(ledger: Ledger, tmp_path: Path, store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("the CLI finds the store by its SQLite file here")
    env = {**os.environ, "LEDGER_HOME": str(tmp_path), "LEDGER_DB": str(tmp_path / "ledger.db"),
           "LEDGER_LOG_FORMAT": "json"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "ledger"), "projections", "follow"], env=env,
                               stderr=subprocess.PIPE)
    try:
        write(ledger, "ACC1")
        assert caught_up(tmp_path, ledger)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    events = [msgspec.json.decode(line)["event"] for line in err.splitlines() if line.startswith(b"{")]
    assert "projection_follower_started" in events and "projections_caught_up" in events


ORPHAN = """
import sys, time
from pathlib import Path
from ledger.config import Settings
from ledger.projections.follower import FollowerProcess
home = Path(sys.argv[1])
follower = FollowerProcess(Settings.from_env({}, home=home, db_path=home / "ledger.db"), interval=0.05)
follower.start()
print(follower.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # exited, waiting to be reaped by whoever adopted it


def test_a_follower_never_outlives_the_process_that_started_it(ledger: Ledger, tmp_path: Path,
                                                               store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("the parent finds the store by its SQLite file here")
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        child = int(parent.stdout.readline()) if parent.stdout else 0
        assert child and not _gone(child)
    finally:
        parent.kill()  # SIGKILL: no atexit, no chance to stop its children
        parent.wait()
    deadline = time.monotonic() + 30
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
