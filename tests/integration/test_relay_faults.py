"""Faults: the relay killed with SIGKILL at random points, then restarted; the stream holds every event exactly
once, in order. The default run kills it a few times over a couple of thousand events; ``-m slow`` does more.
On each event store; the relay process connects with its own credential (authorization on)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import nats
import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.config import Settings
from ledger.nats_api.subjects import EVENTS_STREAM
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore
from tests.ledger_fixtures import START, reset_streams, store_env, store_options

pytestmark = [pytest.mark.nats, pytest.mark.usefixtures("store_backend")]


def write_events(home: Path, accounts: int, invoices: int) -> int:
    store = LedgerStore(Settings.from_env({}, home=home, db_path=home / "ledger.db", **store_options(home)))
    ctx = ev.Context(at=START)
    for n in range(accounts):
        account = Account.open(ctx, aggregate_id=account_uuid(f"K{n}"), account_id=f"K{n}", currency="USD",
                               email="k@example.com")
        for i in range(invoices):
            account.issue_invoice(ctx, invoice=f"I{i}", total=100 + i, issued_on=date(2026, 9, 1),
                                  due_on=date(2026, 9, 30))
        store.save(account)
    head = int(store.recorder.max_notification_id() or 0)
    store.close()
    return head


async def check_stream(url: str, head: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(EVENTS_STREAM)
    assert info.state.messages == head, (info.state.messages, head)
    for seq in sorted({1, head, *random.sample(range(1, head + 1), min(head, 200))}):
        msg = await js.get_msg(EVENTS_STREAM, seq)
        assert int(msg.headers["Ledger-Position"]) == seq
    await nc.close()


async def kill_and_restart(tmp_path: Path, url: str, kills: int, accounts: int) -> None:
    head = write_events(tmp_path, accounts, 19)
    nc = await nats.connect(url)
    await reset_streams(nc.jetstream())
    await nc.close()
    env = {**os.environ, "LEDGER_HOME": str(tmp_path), "NATS_URL": url, "LEDGER_LOG_FORMAT": "json",
           **store_env(tmp_path)}
    rng = random.Random(kills)
    targets = sorted(rng.sample(range(1, head), kills))
    nc = await nats.connect(url)
    js = nc.jetstream()
    killed_at = []
    for target in targets:
        relay = subprocess.Popen([sys.executable, "-m", "ledger", "relay", "--batch", "13"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2000):  # kill it as soon as the stream passes the target: mid-stream, mid-batch
            try:
                stored = (await js.stream_info(EVENTS_STREAM)).state.messages
            except Exception:
                stored = 0
            if stored >= target:
                break
            await asyncio.sleep(0.005)
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        killed_at.append(stored)
    await nc.close()
    assert any(0 < k < head for k in killed_at), killed_at
    relay = subprocess.Popen([sys.executable, "-m", "ledger", "relay"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        nc = await nats.connect(url)
        js = nc.jetstream()
        for _ in range(300):
            try:
                if (await js.stream_info(EVENTS_STREAM)).state.messages >= head:
                    break
            except Exception:
                pass
            await asyncio.sleep(0.1)
        await nc.close()
    finally:
        relay.terminate()
        relay.wait()
    await check_stream(url, head)


async def test_relay_killed_at_random_points(tmp_path: Path, nats_server: str) -> None:
    await kill_and_restart(tmp_path, nats_server, kills=4, accounts=200)


@pytest.mark.slow
async def test_relay_killed_many_times_over_many_events(tmp_path: Path, nats_server: str) -> None:
    await kill_and_restart(tmp_path, nats_server, kills=20, accounts=1000)
