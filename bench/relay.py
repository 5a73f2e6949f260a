"""Benchmark: relay throughput against raw nats-py publish_async of the same messages, and command round-trip
latency at a fixed request rate, on a nats-server from the wheel.

    python -m bench.relay [--events 50000] [--rate 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import nats

from bench.generator import HistoryGenerator
from bench.projections import Row
from ledger.aggregates.events.base import event_uuid
from ledger.bootstrap import build
from ledger.config import Settings
from ledger.natsserver import NatsServerProcess
from ledger.projections.keeper import ProjectionKeeper
from ledger.service.api import build_broker
from ledger.service.subjects import EVENTS_STREAM, event_subject
from ledger.store.application import LedgerStore
from workers.relay import Relay, ensure_events_stream


async def raw_publish(js: Any, notes: list[Any]) -> float:
    """msgs/s of publish_async of the same messages (subjects, bodies, headers), all acks awaited."""
    started = time.perf_counter()
    for start in range(0, len(notes), 1000):
        futures = []
        for note in notes[start:start + 1000]:
            name = note.topic.partition(":")[0]
            headers = {"Nats-Msg-Id": event_uuid(note.originator_id, note.originator_version),
                       "Ledger-Position": str(note.id), "Ledger-Event-Type": name, "Ledger-Event-Version": "1"}
            futures.append(await js.publish_async(event_subject(name, str(note.originator_id)), bytes(note.state),
                                                  headers=headers))
        await asyncio.wait_for(asyncio.gather(*futures), 30)
    return len(notes) / (time.perf_counter() - started)


async def fresh_stream(js: Any) -> None:
    with contextlib.suppress(Exception):
        await js.delete_stream(EVENTS_STREAM)
    await ensure_events_stream(js)


async def relay_rows(home: Path, url: str, events: int) -> list[Row]:
    store = LedgerStore(Settings.from_env({}, home=home, db_path=home / "ledger.db"))
    HistoryGenerator(store).run(events)
    notes = store.recorder.select_notifications(start=1, limit=10**9)
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await fresh_stream(js)
    baseline = await raw_publish(js, notes)
    await fresh_stream(js)
    relay = Relay(store, js, batch=1000)
    started = time.perf_counter()
    while await relay.publish_batch():
        pass
    ours = len(notes) / (time.perf_counter() - started)
    await nc.close()
    store.close()
    return [Row(f"relay to JetStream ({len(notes):,} events, events/s)", ours, baseline, "events/s", ">= 0.7")]


async def latency_rows(home: Path, url: str, rate: int, seconds: float) -> list[Row]:
    ledger = build(Settings.from_env({}, home=home / "api", db_path=home / "api" / "ledger.db"))
    broker = build_broker(ledger, ProjectionKeeper(ledger.store, home / "api"), url)
    await broker.start()
    nc = await nats.connect(url)
    await nc.request("ledger.cmd.account.open", b'{"account": "B1", "email": "b@example.com"}', timeout=5)
    times: list[float] = []

    async def one(n: int) -> None:
        body = msgspec.json.encode({"account": "B1", "credit": f"C{n}", "amount": "1.00", "reference": "bench"})
        started = time.perf_counter()
        await nc.request("ledger.cmd.credit.issue", body, timeout=10)
        times.append(time.perf_counter() - started)

    tasks = []
    for n in range(int(rate * seconds)):
        tasks.append(asyncio.create_task(one(n)))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    times.sort()
    p50, p99 = times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000
    await nc.close()
    await broker.stop()
    ledger.close()
    return [Row(f"command round trip p50 at {rate}/s (ms)", p50, p50, "ms", "printed"),
            Row(f"command round trip p99 at {rate}/s (ms)", p99, p50, "ms", "printed (baseline = p50)")]


async def run_async(events: int, rate: int, seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as folder:
        home = Path(folder)
        with NatsServerProcess(home / "nats") as server:
            return await relay_rows(home, server.url, events) + await latency_rows(home, server.url, rate, seconds)


def run(quick: bool = False) -> list[Row]:
    """The rows of this benchmark (``quick``: fewer events, shorter latency run)."""
    return asyncio.run(run_async(10_000 if quick else 50_000, 200, 2 if quick else 5))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for row in asyncio.run(run_async(args.events, args.rate, args.seconds)):
        print(f"{row.measure:55} ours {row.ours:10,.1f}  baseline {row.baseline:10,.1f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
